/* dativo static catalog: client-side search and facets over the generated index (search-index.js). */
(function () {
  "use strict";
  var index = window.DATIVO_SEARCH_INDEX;
  if (!index) { return; }
  var form = document.getElementById("search-form");
  var input = document.getElementById("q");
  var hits = document.getElementById("hits");
  var countEl = document.getElementById("result-count");
  var facetsEl = document.getElementById("facets");
  var pager = document.getElementById("pager");
  var FACETS = [["classification", "Classification"], ["owner", "Owner"], ["domain", "Domain"], ["tags", "Tags"], ["status", "Status"]];
  var chosen = {};
  var LIMIT = 100;

  function values(c, facet) {
    var v = c[facet];
    if (v === null || v === undefined) { return []; }
    return Array.isArray(v) ? v : [String(v)];
  }
  function text(c) {
    return [c.name, c.key, c.description, (c.tags || []).join(" "), (c.fields || []).join(" "), c.owner, c.domain]
      .join(" ").toLowerCase();
  }
  index.contracts.forEach(function (c) { c._text = text(c); });

  function matches(c, words, skip) {
    for (var i = 0; i < words.length; i++) { if (c._text.indexOf(words[i]) < 0) { return false; } }
    for (var f in chosen) {
      if (f === skip || !chosen[f].length) { continue; }
      var have = values(c, f).map(function (v) { return v.toLowerCase(); });
      if (!chosen[f].some(function (w) { return have.indexOf(w.toLowerCase()) >= 0; })) { return false; }
    }
    return true;
  }

  function el(tag, cls, content) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (content !== undefined) { e.textContent = content; }
    return e;
  }

  function render() {
    var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    var found = index.contracts.filter(function (c) { return matches(c, words, null); });
    countEl.textContent = found.length + " contract" + (found.length === 1 ? "" : "s") +
      (found.length > LIMIT ? " (first " + LIMIT + " shown)" : "");
    hits.textContent = "";
    found.slice(0, LIMIT).forEach(function (c) {
      var li = el("li", "hit");
      var title = el("div", "hit-title");
      var a = el("a", "", c.name || c.key); a.href = c.url; title.appendChild(a);
      title.appendChild(el("span", "key", c.key));
      title.appendChild(el("span", "version", "v" + c.version));
      values(c, "classification").forEach(function (v) { title.appendChild(el("span", "badge badge-" + (c.badges[v] || "muted"), v)); });
      li.appendChild(title);
      if (c.description) { li.appendChild(el("p", "hit-desc", c.description)); }
      hits.appendChild(li);
    });
    if (!found.length) { hits.appendChild(el("li", "empty", "No contract matches.")); }
    if (pager) { pager.hidden = true; }
    facetsEl.textContent = "";
    FACETS.forEach(function (pair) {
      var facet = pair[0];
      var counts = {};
      index.contracts.forEach(function (c) {
        if (matches(c, words, facet)) { values(c, facet).forEach(function (v) { counts[v] = (counts[v] || 0) + 1; }); }
      });
      var section = el("section", "facet");
      section.appendChild(el("h2", "", pair[1]));
      var ul = el("ul");
      Object.keys(counts).sort(function (x, y) { return counts[y] - counts[x] || x.localeCompare(y); }).slice(0, 30)
        .forEach(function (v) {
          var on = (chosen[facet] || []).indexOf(v) >= 0;
          var li = el("li");
          var b = el("a", "facet-value" + (on ? " on" : ""));
          b.href = "#"; b.setAttribute("role", "button"); b.setAttribute("aria-pressed", on ? "true" : "false");
          b.appendChild(el("span", "facet-check", on ? "✓" : ""));
          b.appendChild(el("span", "facet-label", v));
          b.appendChild(el("span", "count", String(counts[v])));
          b.addEventListener("click", function (evt) {
            evt.preventDefault();
            var list = chosen[facet] = chosen[facet] || [];
            if (on) { list.splice(list.indexOf(v), 1); } else { list.push(v); }
            render();
          });
          li.appendChild(b); ul.appendChild(li);
        });
      section.appendChild(ul);
      facetsEl.appendChild(section);
    });
  }

  form.addEventListener("submit", function (evt) { evt.preventDefault(); render(); });
  input.addEventListener("input", render);
  render();
})();
