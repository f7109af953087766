// The web chat's page script (inlined in the page head by rag.web.app).
//
// - Plain-text copies and markup-free aria-labels (the chat's own copy would copy a message's HTML).
// - Links inside answers: a marker [n] opens its card, "Back to the answer" returns, "Read the whole
//   article" asks the server for the reader (through a hidden textbox whose input event it listens to).
// - A new question is brought into view and its answer followed while it streams (never past the
//   question), until the user scrolls or the answer is complete.
// - The reader opens at the clicked card's quote (data-first); its buttons step through the highlights.
// - 👍/👎 opens the comment box inside the rated answer; Library "Remove" buttons ask the server to
//   confirm. window.ragApp holds what the app's events call.
(() => {
  const $ = (selector, root = document) => root.querySelector(selector);
  const send = (selector, value) => { // a hidden Gradio textbox: its input event calls the server
    const box = $(`${selector} textarea`);
    box.value = value;
    box.dispatchEvent(new Event('input', { bubbles: true }));
  };
  const plain = (message) => {
    const copy = message.querySelector('.copy-text');
    return copy ? copy.textContent : message.innerText;
  };
  const bringIntoView = (element) => element.scrollIntoView({ block: 'start', behavior: 'auto' });

  // --- following the conversation ----------------------------------------------------------------
  let questions = 0;
  let following = null; // the question whose answer is being followed
  const follow = () => {
    const wrap = $('#chat .bubble-wrap');
    if (!wrap) return;
    const asked = wrap.querySelectorAll('[data-testid="user"]');
    if (asked.length !== questions) {
      following = asked.length > questions ? asked[asked.length - 1].closest('.message-row') : null;
      questions = asked.length;
      if (following) $('#chat').scrollIntoView({ block: 'nearest' });
    }
    if (!following) return;
    const top = following.getBoundingClientRect().top - wrap.getBoundingClientRect().top + wrap.scrollTop - 8;
    wrap.scrollTop = Math.max(0, Math.min(top, wrap.scrollHeight - wrap.clientHeight));
    const answered = following.nextElementSibling?.querySelector('.answer');
    if (answered) following = null; // complete: leave the scrolling to the user
  };
  for (const type of ['wheel', 'touchmove', 'keydown']) {
    document.addEventListener(type, (event) => {
      if (event.target.closest?.('#chat')) following = null;
    }, { passive: true });
  }

  const relabel = () => {
    for (const message of document.querySelectorAll('#chat [data-testid="bot"], #chat [data-testid="user"]')) {
      const who = message.getAttribute('data-testid') === 'bot' ? 'Answer' : 'Question';
      const label = `${who}: ${plain(message).trim()}`;
      if (message.getAttribute('aria-label') !== label) message.setAttribute('aria-label', label);
    }
  };
  new MutationObserver(() => { relabel(); follow(); }).observe(document.documentElement, {
    subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['aria-label'],
  });

  // --- the reader ---------------------------------------------------------------------------------------
  const step = (view, index) => {
    const marks = view.querySelectorAll('mark[id]');
    if (!marks.length) return;
    const current = Math.max(0, Math.min(index, marks.length - 1));
    marks.forEach((mark, i) => mark.classList.toggle('current', i === current));
    view.setAttribute('current', String(current));
    const body = $('.article-body', view);
    body.scrollTop = marks[current].offsetTop - body.clientHeight / 4; // in the reader's own panel…
    marks[current].scrollIntoView({ block: 'nearest' }); // …and on screen (the page scrolls only if it must)
    $('.hl-position', view).textContent = `highlight ${current + 1} of ${marks.length}`;
  };
  const whenPresent = (selector, then, frames = 600) => { // up to ~10 s of animation frames
    const found = $(selector);
    if (found) then(found);
    else if (frames > 0) requestAnimationFrame(() => whenPresent(selector, then, frames - 1));
  };

  // --- clicks ----------------------------------------------------------------------------------------
  const clicked = {
    '.copy-answer': async (button) => {
      await navigator.clipboard.writeText($('.copy-text', button.closest('.answer')).textContent);
      button.textContent = 'Copied';
    },
    'a.open-article': (link) => {
      const [turn, number] = link.getAttribute('href').split('-').slice(1); // #read-<turn>-<number>
      send('#article-request', `${turn}:${number}:${Date.now()}`);
    },
    'a.marker': (link) => {
      const card = $(link.getAttribute('href'));
      if (!card) return;
      card.closest('details')?.setAttribute('open', '');
      const quote = $('mark', card); // the quote in view, with its card's title when both fit
      if (quote) quote.scrollIntoView({ block: 'center' });
      else bringIntoView(card);
    },
    'a.back-to-answer': (link) => {
      const answer = $(link.getAttribute('href'));
      if (answer) bringIntoView(answer);
    },
    '.hl-next': (button) => {
      const view = button.closest('.article-view');
      step(view, Number(view.getAttribute('current') || 0) + 1);
    },
    '.hl-prev': (button) => {
      const view = button.closest('.article-view');
      step(view, Number(view.getAttribute('current') || 0) - 1);
    },
    '.comment-save': (button) => {
      const box = button.closest('.comment-box');
      const turn = Number(box.id.split('-').pop());
      $('.comment-status', box).textContent = 'Saving…';
      window.ragApp.commenting = box;
      send('#comment-request', JSON.stringify({ turn, text: $('.comment-text', box).innerText, at: Date.now() }));
    },
    '#chat button[aria-label="Like"], #chat button[aria-label="Dislike"]': (button) => {
      let row = button.closest('.message-buttons'); // the rated message's buttons follow its row
      while (row && !row.matches('.message-row')) row = row.previousElementSibling;
      const box = row && $('.comment-box', row);
      if (box) box.hidden = false;
    },
    '.remove-article': (button) => send('#remove-request', `${button.value}\n${Date.now()}`),
  };
  document.addEventListener('click', (event) => {
    for (const [selector, act] of Object.entries(clicked)) {
      const target = event.target.closest(selector);
      if (!target) continue;
      if (target.tagName === 'A') event.preventDefault();
      following = null;
      act(target);
      return;
    }
  }, true); // capture: before the chat's own handlers re-render what was clicked

  window.ragApp = {
    // The settings sidebar starts open on wide screens only (run once the page is ready).
    closeSidebarOnPhone() {
      const toggle = $('#settings.open .toggle-button');
      if (toggle && window.innerWidth < 768) toggle.click();
    },
    toggleSidebar() { $('#settings .toggle-button').click(); },
    copy(text) { return navigator.clipboard.writeText(text); },
    // After the server sent the article asked for: bring the reader into view, at the clicked card's quote.
    readerOpened() {
      const nonce = $('#article-request textarea').value.split(':').pop();
      whenPresent(`#article .article-view[id$="-${nonce}"]`, (view) => {
        $('#reader').scrollIntoView({ block: window.innerWidth < 768 ? 'start' : 'nearest' });
        step(view, Number(view.dataset.first || 0));
      });
    },
    commentSaved(status) {
      const box = window.ragApp.commenting;
      if (box) $('.comment-status', box).textContent = status;
    },
    showConfirmation() { whenPresent('#confirm-removal:not(.hidden)', (row) => row.scrollIntoView({ block: 'center' })); },
  };
})();
