// The web chat's script (inlined in the page head by rag.web.app).
// Plain-text copies and markup-free aria-labels (the chat's own copy would copy the HTML of a message),
// the bridge from a card's "Read the whole article" link to the app's article reader, and the
// settings sidebar's phone behaviour (window.ragApp, called from event handlers).
(() => {
  const plain = (message) => {
    const copy = message.querySelector('.copy-text');
    return copy ? copy.textContent : message.innerText;
  };
  document.addEventListener('click', async (event) => {
    const copyButton = event.target.closest('.copy-answer');
    if (copyButton) {
      event.preventDefault();
      const text = copyButton.closest('.answer').querySelector('.copy-text').textContent;
      await navigator.clipboard.writeText(text);
      copyButton.textContent = 'Copied';
      setTimeout(() => { copyButton.textContent = 'Copy answer'; }, 1500);
      return;
    }
    const open = event.target.closest('a.open-article');
    if (open) {
      event.preventDefault();
      const box = document.querySelector('#article-request textarea');
      const [turn, number] = open.getAttribute('href').split('-').slice(1);  // #read-<turn>-<number>
      box.value = `${turn}:${number}:${Date.now()}`;
      box.dispatchEvent(new Event('input', { bubbles: true }));
      setTimeout(() => {
        document.querySelector('#article-open').click();
        document.querySelector('#article').scrollIntoView({ behavior: 'smooth', block: 'start' });
      }, 100);
    }
  });
  const relabel = () => {
    for (const message of document.querySelectorAll('#chat [data-testid="bot"], #chat [data-testid="user"]')) {
      const who = message.getAttribute('data-testid') === 'bot' ? 'Answer' : 'Question';
      const label = `${who}: ${plain(message).trim()}`;
      if (message.getAttribute('aria-label') !== label) message.setAttribute('aria-label', label);
    }
  };
  new MutationObserver(relabel).observe(document.documentElement, {
    subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['aria-label'],
  });
  window.ragApp = {
    // The settings sidebar starts open on wide screens only (run once the page is ready).
    closeSidebarOnPhone() {
      const toggle = document.querySelector('#settings.open .toggle-button');
      if (toggle && window.innerWidth < 768) toggle.click();
    },
    toggleSidebar() { document.querySelector('#settings .toggle-button').click(); },
    copy(text) { return navigator.clipboard.writeText(text); },
  };
})();
