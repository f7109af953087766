"""Web sources: fetching pages and feeds politely (httpx), extracting articles (trafilatura, feedparser)."""
