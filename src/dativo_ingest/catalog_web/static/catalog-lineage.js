/* dativo catalog: the lineage graph (Cytoscape.js + cytoscape-dagre, vendored). Opens focused on one
   node; clicking a node fetches its neighbours (served catalog) or reveals them from the embedded graph
   (static site). Column-level edges are shown on demand. */
(function () {
  "use strict";
  var began = performance.now();
  var container = document.getElementById("graph");
  if (!container || typeof cytoscape === "undefined") { return; }
  if (typeof cytoscapeDagre !== "undefined") { cytoscape.use(cytoscapeDagre); }
  var data = JSON.parse(document.getElementById("graph-data").textContent);
  var endpoint = container.getAttribute("data-endpoint");
  var root = container.getAttribute("data-root");
  var status = document.getElementById("graph-status");
  var panel = document.getElementById("node-panel");
  var COLORS = {
    asset: "#2b59c3", source: "#5d6b88", transformation: "#7c4fb8", target: "#23804f",
    dbt_source: "#b5651d", dbt_model: "#c2410c", dbt_seed: "#a16207", dbt_snapshot: "#a16207",
    exposure: "#b8336a"
  };
  var expanded = {};
  var levels = {};  // hops from the focused node (negative: upstream), for the concentric layout
  (data.nodes || []).forEach(function (n) { levels[n.id] = n.depth || 0; });
  expanded[root] = true;

  var cy = cytoscape({
    container: container,
    elements: [],
    minZoom: 0.05,
    maxZoom: 3,
    wheelSensitivity: 0.25,
    textureOnViewport: true,
    hideEdgesOnViewport: true,
    pixelRatio: 1,
    style: [
      { selector: "node", style: {
        "shape": "round-rectangle", "width": "data(w)", "height": 26,
        "background-color": "data(color)",
        "label": "data(label)", "color": "#ffffff", "font-size": 11, "text-valign": "center",
        "text-halign": "center", "font-family": "system-ui, sans-serif", "min-zoomed-font-size": 7 } },
      { selector: "node.root", style: { "border-width": 3, "border-color": "#f2b400" } },
      { selector: "node.expandable", style: { "border-width": 2, "border-style": "dashed", "border-color": "#1b1f27" } },
      { selector: "node:selected", style: { "border-width": 3, "border-color": "#111111" } },
      { selector: "edge", style: {
        "width": 1.4, "line-color": "#9aa3b2", "target-arrow-color": "#9aa3b2", "target-arrow-shape": "triangle",
        "curve-style": "bezier", "arrow-scale": 0.8 } },
      { selector: "edge.column", style: {
        "line-style": "dashed", "line-color": "#c2410c", "target-arrow-color": "#c2410c", "label": "data(label)",
        "font-size": 9, "color": "#7c2d12", "text-background-color": "#ffffff", "text-background-opacity": 1,
        "curve-style": "unbundled-bezier", "control-point-distances": 30 } }
    ]
  });

  function label(n) {
    var text = n.name || n.id;
    return text.length > 42 ? text.slice(0, 40) + "…" : text;
  }

  function addGraph(graph) {
    var added = [];
    (graph.nodes || []).forEach(function (n) {
      if (cy.getElementById(n.id).length === 0) {
        var text = label(n);
        added.push({ group: "nodes", data: {
          id: n.id, label: text, name: n.name, type: n.type, href: n.href || "",
          w: Math.round(text.length * 6.6 + 18), color: COLORS[n.type] || "#5d6b88" } });
      }
    });
    (graph.edges || []).forEach(function (e) {
      var id = "e|" + e.from + "|" + e.to + "|" + e.type;
      if (cy.getElementById(id).length === 0) {
        added.push({ group: "edges", data: { id: id, source: e.from, target: e.to, type: e.type } });
      }
    });
    cy.batch(function () {
      cy.add(added.filter(function (el) { return el.group === "nodes"; }));
      cy.add(added.filter(function (el) {
        return el.group === "edges" && cy.getElementById(el.data.source).length && cy.getElementById(el.data.target).length;
      }));
    });
    return added.length;
  }

  function layout(done) {
    var big = cy.nodes().length > 600;
    var options = big
      ? { name: "concentric", animate: false, fit: true, minNodeSpacing: 4, startAngle: Math.PI, sweep: Math.PI * 2,
          concentric: function (n) { return 100 - Math.abs(levels[n.id()] || 0); }, levelWidth: function () { return 1; } }
      : { name: "dagre", rankDir: "LR", nodeSep: 14, rankSep: 70, edgeSep: 8, animate: false, fit: true };
    var run = cy.layout(options);
    run.one("layoutstop", function () { if (done) { done(); } });
    run.run();
  }

  function ringPositions() {
    var rings = {};
    cy.nodes().forEach(function (n) {
      var hop = Math.abs(levels[n.id()] || 0);
      (rings[hop] = rings[hop] || []).push(n);
    });
    var radius = 0;
    Object.keys(rings).map(Number).sort(function (a, b) { return a - b; }).forEach(function (hop) {
      var ring = rings[hop];
      // each ring is wide enough for its nodes (40 px apart) and outside the previous one
      radius = hop === 0 ? 0 : Math.max(radius + 120, (ring.length * 40) / (2 * Math.PI));
      // haystack edges carry no arrows: upstream nodes take the ring's left half, downstream its right
      var up = ring.filter(function (n) { return (levels[n.id()] || 0) < 0; });
      var down = ring.filter(function (n) { return (levels[n.id()] || 0) >= 0; });
      var place = function (part, from, sweep) {
        part.forEach(function (n, i) {
          var angle = from + (sweep * (i + 0.5)) / part.length;
          n.position({ x: radius * Math.cos(angle), y: radius * Math.sin(angle) });
        });
      };
      if (up.length && down.length) {
        place(up, Math.PI / 2, Math.PI);
        place(down, -Math.PI / 2, Math.PI);
      } else {
        place(ring, Math.PI, 2 * Math.PI);
      }
    });
  }

  function fitRings() {
    // the viewport from the rings' known extent: cy.fit would measure every node and edge first
    var extent = 1;
    cy.nodes().forEach(function (n) {
      var p = n.position();
      extent = Math.max(extent, Math.abs(p.x), Math.abs(p.y));
    });
    var w = container.clientWidth || 800;
    var h = container.clientHeight || 600;
    var zoom = Math.max(cy.minZoom(), Math.min(1, (Math.min(w, h) - 60) / (2 * extent + 120)));
    cy.viewport({ zoom: zoom, pan: { x: w / 2, y: h / 2 } });
  }

  function describe(count) {
    var text = cy.nodes().length + " nodes, " + cy.edges().not(".column").length + " edges";
    if (data.withheld) { text += ", " + data.withheld + " withheld by policy"; }
    status.textContent = text + ". Click a node to expand its neighbours." + (count === 0 ? " Nothing new to add." : "");
  }

  function markExpandable() {
    cy.batch(function () {
      cy.nodes().forEach(function (n) { n.toggleClass("expandable", !expanded[n.id()]); });
    });
  }

  function showPanel(node) {
    var d = node.data();
    panel.textContent = "";
    var h = document.createElement("h2");
    h.textContent = d.name || d.id;
    panel.appendChild(h);
    var dl = document.createElement("dl");
    [["Type", d.type], ["Id", d.id], ["Upstream", node.incomers("node").length], ["Downstream", node.outgoers("node").length]]
      .forEach(function (kv) {
        var wrap = document.createElement("div");
        var dt = document.createElement("dt"); dt.textContent = kv[0];
        var dd = document.createElement("dd"); dd.textContent = String(kv[1]);
        wrap.appendChild(dt); wrap.appendChild(dd); dl.appendChild(wrap);
      });
    panel.appendChild(dl);
    if (d.href) {
      var p = document.createElement("p");
      var a = document.createElement("a");
      a.href = d.href; a.textContent = "Open the contract →";
      p.appendChild(a); panel.appendChild(p);
    }
  }

  function expand(id) {
    if (expanded[id]) { return; }
    expanded[id] = true;
    if (endpoint) {
      status.textContent = "Loading neighbours of " + id + "…";
      fetch(endpoint + "?up=1&down=1&node=" + encodeURIComponent(id), { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (g) {
          var n = addGraph(g);
          markExpandable();
          if (n) { layout(function () { describe(n); }); } else { describe(0); }
        })
        .catch(function (err) { status.textContent = "Could not load neighbours (" + err.message + ")."; });
    } else {
      var all = data.all || { nodes: [], edges: [] };
      var near = { nodes: [], edges: [] };
      var ids = {};
      all.edges.forEach(function (e) {
        if (e.from === id || e.to === id) { near.edges.push(e); ids[e.from] = true; ids[e.to] = true; }
      });
      near.nodes = all.nodes.filter(function (n) { return ids[n.id]; });
      var n = addGraph(near);
      markExpandable();
      if (n) { layout(function () { describe(n); }); } else { describe(0); }
    }
  }

  function showColumns(on) {
    cy.edges(".column").remove();
    if (!on) { describe(); return; }
    var draw = function (edges) {
      var els = [];
      edges.forEach(function (e, i) {
        if (cy.getElementById(e.from).length && cy.getElementById(e.to).length) {
          els.push({ group: "edges", classes: "column", data: {
            id: "c|" + i + "|" + e.from + "|" + e.from_field + "|" + e.to + "|" + e.to_field,
            source: e.from, target: e.to, label: e.from_field + " → " + e.to_field } });
        }
      });
      cy.add(els);
      status.textContent = edges.length === 0
        ? "No column edges recorded for this node."
        : els.length + " column edge" + (els.length === 1 ? "" : "s") + " shown (of " + edges.length + " recorded for this node).";
    };
    if (endpoint) {
      fetch(endpoint + "?up=0&down=0&columns=true&node=" + encodeURIComponent(root), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (g) { draw(g.columns || []); });
    } else {
      draw(data.columns || []);
    }
  }

  var timing = { script: began };
  window.dativoGraphTiming = timing;
  var big = data.nodes.length > 600;
  if (big) {
    // at this size labels are unreadable until zoomed in, and measuring 1,000 of them dominates the
    // first layout: show them on the focused node's neighbourhood, and on every node once zoomed in
    // haystack edges are Cytoscape's cheapest to project and draw (no arrows: the rings say direction)
    cy.style().selector("edge").style({ "curve-style": "haystack", "haystack-radius": 0 })
      .selector("node").style({ "label": "" })
      .selector("node.labelled, node.root").style({ "label": "data(label)" }).update();
    cy.on("zoom", function () {
      var on = cy.zoom() > 0.6;
      if (on !== big.labels) {
        big.labels = on;
        cy.style().selector("node").style({ "label": on ? "data(label)" : "" }).update();
      }
    });
    big = { labels: false };
  }
  function ready() {
    timing.laidOut = performance.now();
    describe();
    // interactive once the laid-out graph has been painted, not merely positioned
    requestAnimationFrame(function () {
      timing.painted = performance.now();
      document.body.setAttribute("data-graph-ready", "true");
    });
  }
  cy.startBatch();
  addGraph(data);
  cy.getElementById(root).addClass("root");
  cy.getElementById(root).closedNeighborhood("node").addClass("labelled");
  cy.nodes().forEach(function (n) { n.toggleClass("expandable", !expanded[n.id()]); });
  if (big) {
    // the first layout of a big graph is computed here, in one pass, while the batch is still open:
    // rings by hops from the focused node, so Cytoscape renders once with every position set
    ringPositions();
  }
  cy.endBatch();
  timing.added = performance.now();
  if (big) { fitRings(); ready(); } else { layout(ready); }
  cy.on("tap", "node", function (evt) { showPanel(evt.target); expand(evt.target.id()); });
  document.getElementById("show-columns").addEventListener("change", function (evt) { showColumns(evt.target.checked); });
  document.getElementById("fit").addEventListener("click", function () { cy.fit(undefined, 30); });
  window.dativoGraph = cy;
})();
