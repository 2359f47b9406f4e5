// While a migration runs, refresh its live part (state, progress bar, ETA,
// meetings) in place every 2 seconds, so focus and anything typed in the
// action forms stay put. Without JavaScript a <noscript> meta refresh
// reloads the whole page instead.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !live.dataset.running) return;
  function poll() {
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok || r.redirected) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        var next = new DOMParser().parseFromString(html, "text/html").getElementById("live");
        if (!next) return;
        live.replaceWith(next);
        live = next;
        if (live.dataset.running) setTimeout(poll, 2000);
      })
      .catch(function () { location.reload(); });
  }
  setTimeout(poll, 2000);
})();
