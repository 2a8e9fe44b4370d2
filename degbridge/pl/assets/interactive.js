/* degbridge's interactive figures (degbridge.pl.interactive_*, and the HTML report).
 *
 * Every div.dbw holds its figure's data as JSON in a script element (type application/json,
 * never run), read with JSON.parse(textContent). Data reach the DOM through textContent only and
 * Plotly (which reads a subset of HTML in its labels) escaped by esc(): no innerHTML, no eval,
 * no network.
 *
 * Two kinds of figure:
 *   "linked": scatter plots of the same genes (MD and volcano plots, or predicted vs observed)
 *             linked to a sortable, searchable gene table and, when the data carry it, to the
 *             selected gene's expression per sample by group;
 *   "mds":    limma's MDS of the samples, any two dimensions, coloured by a sample column.
 *
 * State, for tests and the curious: window.degbridge = {ready, readyMs, errors, widgets: [{kind,
 * selected (gene IDs in the order chosen), current, query, matches, shown, page, traceType,
 * updates, updateMs, dims, colour, ready, csv()}]}.
 */
(function () {
  "use strict";
  var api = (window.degbridge = { ready: false, errors: [], widgets: [] });
  var PAGE = 20;
  var PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#7f7f7f", "#bcbd22", "#17becf"];
  var CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
  var CONFIG = { displaylogo: false, responsive: true,
                 modeBarButtonsToRemove: ["select2d", "lasso2d"] };

  // ---- text --------------------------------------------------------------------------------
  // Plotly reads <br>, <b>, <a href>... and entities in every label: escape & < > (it decodes
  // no other entity names), after control characters become spaces and long text is cut.
  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function cut(s, n) {
    s = String(s).replace(CONTROL, " ");
    return s.length > n ? s.slice(0, n - 1) + "\u2026" : s;
  }
  function plain(s, n) { return esc(cut(s, n || 40)); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function button(text, cls) {
    var b = el("button", cls, text);
    b.type = "button";
    return b;
  }
  function choice(labelText, options, cls) {
    var wrap = el("label", "dbw-choice", labelText + " ");
    var s = el("select", cls);
    options.forEach(function (o) {
      var opt = el("option", null, o[1]);
      opt.value = String(o[0]);
      s.appendChild(opt);
    });
    wrap.appendChild(s);
    return { wrap: wrap, select: s };
  }
  function fmt(v, format) {
    if (v === null || v === undefined) return "NA";
    if (typeof v !== "number") return String(v);
    if (format === "int") return String(v);
    if (v === 0) return "0";
    var digits = format === "p" ? 3 : 4, a = Math.abs(v);
    if (a < 1e-3 || a >= 1e6) return v.toExponential(digits - 1);
    return a >= Math.pow(10, digits) ? v.toFixed(0) : v.toPrecision(digits);
  }
  function isNum(v) { return typeof v === "number" && isFinite(v); }

  // ---- plots -------------------------------------------------------------------------------
  var WEBGL = (function () {
    try {
      var c = document.createElement("canvas");
      var gl = c.getContext("webgl") || c.getContext("experimental-webgl");
      if (!gl) return false;
      var lose = gl.getExtension("WEBGL_lose_context");
      if (lose) lose.loseContext();
      return true;
    } catch (e) {
      return false;
    }
  })();

  function layout(title, xlabel, ylabel) {
    return {
      title: { text: title, font: { size: 14 }, x: 0.02, xanchor: "left" },
      xaxis: { title: { text: xlabel }, zeroline: false, automargin: true },
      yaxis: { title: { text: ylabel }, zeroline: false, automargin: true },
      margin: { l: 55, r: 34, t: 40, b: 40 },
      modebar: { orientation: "v", bgcolor: "rgba(255,255,255,0.8)" },
      hovermode: "closest",
      showlegend: true,
      legend: { orientation: "h", x: 0, y: -0.2, font: { size: 11 } },
      font: { family: "-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif", size: 12 },
    };
  }
  function highlightTrace() {
    return { type: "scatter", mode: "markers+text", x: [], y: [], text: [], hoverinfo: "skip",
             textposition: "top center", cliponaxis: false, showlegend: false,
             textfont: { size: 11, color: "#1f2933" },
             marker: { size: 12, color: "rgba(0,0,0,0)", line: { width: 2, color: "#1f2933" } } };
  }

  // ---- a figure linking scatter plots, a gene table and expression per sample ---------------
  function linked(root, spec) {
    var n = spec.ids.length, V = spec.values, ids = spec.ids, labels = spec.labels;
    var st = { kind: "linked", title: spec.title, selected: [], current: null, query: "",
               matches: n, shown: 0, page: 0, ready: false, updates: 0, updateMs: null,
               traceType: WEBGL ? "scattergl" : "scatter" };
    var chosen = [], chosenSet = new Set(), cur = null;

    // DOM: controls, plots, the selection, the table
    if (spec.title) root.appendChild(el("h3", "dbw-title", spec.title));
    if (spec.note) root.appendChild(el("p", "dbw-note", spec.note));
    var bar = el("div", "dbw-bar");
    var search = el("input", "dbw-search");
    search.type = "search";
    search.placeholder = "search ID or symbol (Enter selects)";
    search.setAttribute("aria-label", "search genes");
    var count = el("span", "dbw-count");
    var clear = button("Clear selection", "dbw-clear");
    var save = button("Save table (CSV)", "dbw-save");
    bar.append(search, count, clear, save);
    var E = spec.expression, groupBox = null;
    if (E && E.groups.length > 1) {
      groupBox = choice("group by", E.groups.map(function (g, k) { return [k, g.name]; }), "dbw-group");
      bar.appendChild(groupBox.wrap);
    }
    root.appendChild(bar);
    var row = el("div", "dbw-plots");
    root.appendChild(row);
    var plots = spec.plots.map(function (p) {
      var div = el("div", "dbw-plot");
      row.appendChild(div);
      return { spec: p, div: div, X: V[p.x], Y: V[p.y], members: [] };
    });
    var exprDiv = null;
    if (E) {
      exprDiv = el("div", "dbw-plot dbw-expr");
      row.appendChild(exprDiv);
    } else if (spec.expression_note) {
      root.appendChild(el("p", "dbw-note", spec.expression_note));
    }
    var selLine = el("p", "dbw-selected");
    root.appendChild(selLine);
    var wrap = el("div", "dbw-table-wrap");
    var table = el("table", "dbw-table");
    var thead = el("thead"), tbody = el("tbody"), headRow = el("tr");
    thead.appendChild(headRow);
    table.append(thead, tbody);
    wrap.appendChild(table);
    root.appendChild(wrap);
    var pager = el("div", "dbw-pager");
    var prev = button("\u2039 previous", "dbw-prev"), next = button("next \u203a", "dbw-next");
    var pageInfo = el("span", "dbw-page");
    pager.append(prev, pageInfo, next);
    root.appendChild(pager);

    // the scatter plots: one trace per category (legend), the selection on top
    var cat = spec.category;
    var ofCategory = cat.levels.map(function () { return []; });
    cat.codes.forEach(function (c, i) { ofCategory[c].push(i); });
    function hover(i, p, P) {
      var name = plain(labels[i], 60);
      if (labels[i] !== ids[i]) name += " (" + plain(ids[i], 40) + ")";
      return "<b>" + name + "</b><br>" + plain(p.xlabel) + ": " + fmt(P.X[i]) + "<br>" +
             plain(p.ylabel) + ": " + fmt(P.Y[i]);
    }
    function drawable(P, i) {
      return isNum(P.X[i]) && isNum(P.Y[i]) && (!P.spec.xlog || P.X[i] > 0);
    }
    var drawn = plots.map(function (P) {
      var p = P.spec, traces = [];
      cat.levels.forEach(function (level, k) {
        var idx = ofCategory[k].filter(function (i) { return drawable(P, i); });
        P.members.push(idx);
        traces.push({
          type: st.traceType, mode: "markers", name: esc(level) + " (" + idx.length + ")",
          x: idx.map(function (i) { return P.X[i]; }), y: idx.map(function (i) { return P.Y[i]; }),
          hoverinfo: "text", hovertext: idx.map(function (i) { return hover(i, p, P); }),
          marker: { color: cat.colours[k], size: k === 0 ? 4 : 5, opacity: k === 0 ? 0.55 : 0.85 },
        });
      });
      traces.push(highlightTrace());
      P.hl = traces.length - 1;
      var lay = layout(plain(p.title, 80), plain(p.xlabel), plain(p.ylabel));
      if (p.xlog) lay.xaxis.type = "log";
      var shapes = [];
      if (isNum(p.hline)) {
        shapes.push({ type: "line", xref: "paper", x0: 0, x1: 1, y0: p.hline, y1: p.hline,
                      line: { color: "#52606d", width: 1 } });
      }
      if (p.diagonal) {
        var lo = Infinity, hi = -Infinity;
        for (var i = 0; i < n; i++) {
          if (!drawable(P, i)) continue;
          lo = Math.min(lo, P.X[i], P.Y[i]);
          hi = Math.max(hi, P.X[i], P.Y[i]);
        }
        if (lo < hi) {
          shapes.push({ type: "line", x0: lo, y0: lo, x1: hi, y1: hi, layer: "below",
                        line: { color: "#1f2933", width: 1 } });
        }
      }
      lay.shapes = shapes;
      return Plotly.newPlot(P.div, traces, lay, CONFIG).then(function () {
        P.div.on("plotly_click", function (ev) {
          var pt = ev && ev.points && ev.points[0];
          if (!pt || pt.curveNumber >= P.members.length) return;
          var k = pt.pointIndex !== undefined ? pt.pointIndex : pt.pointNumber;
          var i = P.members[pt.curveNumber][k];
          if (i !== undefined) toggle(i);
        });
      });
    });

    // expression of the current gene per sample, by group
    function groupOf() {
      return E.groups[groupBox ? Number(groupBox.select.value) : 0];
    }
    function drawExpression() {
      if (!exprDiv) return Promise.resolve();
      var g = groupOf(), traces = [], title = "click or search a gene";
      var levels = g.levels;
      if (cur !== null) {
        var values = E.values[cur];
        title = plain(labels[cur], 50);
        if (!values) title += ": no expression values";
        else {
          levels.forEach(function (level, k) {
            var js = [];
            g.values.forEach(function (v, j) { if (v === level && isNum(values[j])) js.push(j); });
            var m = js.length, step = m > 1 ? Math.min(0.5 / (m - 1), 0.12) : 0;
            traces.push({
              type: "scatter", mode: "markers", name: esc(cut(level, 30)),
              x: js.map(function (j, r) { return k + (r - (m - 1) / 2) * step; }),
              y: js.map(function (j) { return values[j]; }),
              hoverinfo: "text",
              hovertext: js.map(function (j) {
                return plain(E.samples[j], 40) + "<br>" + plain(level, 30) + "<br>" + fmt(values[j]);
              }),
              marker: { size: 9, color: PALETTE[k % PALETTE.length], line: { width: 0.5, color: "#fff" } },
            });
          });
        }
      }
      var lay = layout(title, plain(g.name), plain(E.label, 60));
      lay.showlegend = false;
      lay.xaxis.tickmode = "array";
      lay.xaxis.tickvals = levels.map(function (l, k) { return k; });
      lay.xaxis.ticktext = levels.map(function (l) { return plain(l, 20); });
      lay.xaxis.range = [-0.6, Math.max(levels.length, 1) - 0.4];
      return Plotly.react(exprDiv, traces, lay, CONFIG);
    }

    // the table
    var cols = spec.columns;
    var textKeys = cols.filter(function (c) { return c.format === "text"; }).map(function (c) { return c.key; });
    var order = spec.order ? spec.order.slice() : ids.map(function (g, i) { return i; });
    var rows = order, page = 0, sortKey = null, sortDir = 1;
    cols.forEach(function (c) {
      var th = el("th", c.format === "text" ? "t" : "n", c.label);
      th.title = "sort by " + c.label;
      th.addEventListener("click", function () { sortBy(c, th); });
      headRow.appendChild(th);
    });
    function sortBy(c, th) {
      sortDir = sortKey === c.key ? -sortDir : 1;
      sortKey = c.key;
      var v = V[c.key], text = c.format === "text";
      order = order.slice().sort(function (a, b) {
        var x = v[a], y = v[b];
        var xm = x === null || x === undefined, ym = y === null || y === undefined;
        if (xm || ym) return xm === ym ? a - b : (xm ? 1 : -1);   // missing last, either way
        var d = text ? String(x).localeCompare(String(y)) : x - y;
        return d !== 0 ? sortDir * d : a - b;
      });
      Array.prototype.forEach.call(headRow.children, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending");
      filter(true);
    }
    function matches(i, q) {
      for (var k = 0; k < textKeys.length; k++) {
        var s = V[textKeys[k]][i];
        if (s !== null && s !== undefined && String(s).toLowerCase().indexOf(q) >= 0) return true;
      }
      return false;
    }
    function filter(resetPage) {
      var q = st.query.trim().toLowerCase();
      rows = q ? order.filter(function (i) { return matches(i, q); }) : order;
      if (resetPage) page = 0;
      page = Math.min(page, Math.max(0, Math.ceil(rows.length / PAGE) - 1));
      renderTable();
    }
    function exact(q) {
      q = q.trim().toLowerCase();
      for (var k = 0; k < rows.length; k++) {
        var i = rows[k];
        if (ids[i].toLowerCase() === q || String(labels[i]).toLowerCase() === q) return i;
      }
      return null;
    }
    function renderTable() {
      var frag = document.createDocumentFragment();
      var slice = rows.slice(page * PAGE, page * PAGE + PAGE);
      slice.forEach(function (i) {
        var tr = el("tr", chosenSet.has(i) ? (i === cur ? "sel cur" : "sel") : null);
        cols.forEach(function (c) {
          var v = V[c.key][i], td;
          if (c.format === "text") {
            td = el("td", "t");
            td.appendChild(el("bdi", null, v === null || v === undefined ? "" : String(v)));
          } else {
            td = el("td", "n", fmt(v, c.format));
          }
          tr.appendChild(td);
        });
        tr.tabIndex = 0;  // rows are reachable with Tab; Enter or Space selects
        tr.addEventListener("click", function () { toggle(i); });
        tr.addEventListener("keydown", function (ev) {
          if (ev.key !== "Enter" && ev.key !== " ") return;
          ev.preventDefault();
          toggle(i);
        });
        frag.appendChild(tr);
      });
      tbody.replaceChildren(frag);
      var pages = Math.max(1, Math.ceil(rows.length / PAGE));
      st.shown = slice.length;
      st.matches = rows.length;
      st.page = page;
      count.textContent = rows.length === n ? n.toLocaleString("en-US") + " genes"
        : rows.length.toLocaleString("en-US") + " of " + n.toLocaleString("en-US") + " genes match";
      pageInfo.textContent = "page " + (page + 1) + " of " + pages;
      prev.disabled = page === 0;
      next.disabled = page >= pages - 1;
      save.textContent = chosen.length ? "Save selected (" + chosen.length + ") as CSV"
        : "Save " + (rows.length === n ? "table" : "matching genes") + " as CSV";
    }

    // selection
    function describeSelection() {
      st.selected = chosen.map(function (i) { return ids[i]; });
      st.current = cur === null ? null : ids[cur];
      var shown = chosen.slice(-12).map(function (i) { return cut(labels[i], 30); });
      selLine.textContent = chosen.length === 0 ? "No gene selected: click a point or a row, or search."
        : "Selected (" + chosen.length + "): " + (chosen.length > 12 ? "\u2026, " : "") + shown.join(", ");
    }
    function update() {
      var t0 = performance.now();
      describeSelection();
      var work = plots.map(function (P) {
        var idx = chosen.filter(function (i) { return drawable(P, i); });
        return Plotly.restyle(P.div, {
          x: [idx.map(function (i) { return P.X[i]; })],
          y: [idx.map(function (i) { return P.Y[i]; })],
          text: [idx.map(function (i) { return plain(labels[i], 24); })],
        }, [P.hl]);
      });
      work.push(drawExpression());
      renderTable();
      return Promise.all(work).then(function () {
        st.updateMs = performance.now() - t0;  // selection drawn everywhere (benchmarks)
        st.updates += 1;
      });
    }
    function toggle(i) {
      if (chosenSet.has(i)) {
        chosenSet.delete(i);
        chosen.splice(chosen.indexOf(i), 1);
        cur = chosen.length ? chosen[chosen.length - 1] : null;
      } else {
        chosenSet.add(i);
        chosen.push(i);
        cur = i;
      }
      return update();
    }
    function choose(i) {
      if (!chosenSet.has(i)) {
        chosenSet.add(i);
        chosen.push(i);
      }
      cur = i;
      return update();
    }

    // CSV of the selected genes (or of the genes listed), expression per sample included
    function csvCell(v, c) {
      if (v === null || v === undefined) return "NA";
      if (c && c.format !== "text") return String(v);
      var s = String(v);
      if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;  // never a spreadsheet formula
      return '"' + s.replace(/"/g, '""') + '"';
    }
    st.csv = function () {
      var genes = chosen.length ? chosen : rows;
      var head = cols.map(function (c) { return csvCell(c.label); });
      if (E) head = head.concat(E.samples.map(function (s) { return csvCell(s); }));
      var lines = [head.join(",")];
      genes.forEach(function (i) {
        var cells = cols.map(function (c) { return csvCell(V[c.key][i], c); });
        if (E) {
          var values = E.values[i];
          cells = cells.concat(E.samples.map(function (s, j) {
            return values && isNum(values[j]) ? String(values[j]) : "NA";
          }));
        }
        lines.push(cells.join(","));
      });
      return lines.join("\r\n") + "\r\n";
    };

    search.addEventListener("input", function () {
      st.query = search.value;
      filter(true);
      if (st.query.trim() && rows.length === 1) choose(rows[0]);
    });
    search.addEventListener("keydown", function (ev) {
      if (ev.key !== "Enter" || !st.query.trim() || rows.length === 0) return;
      ev.preventDefault();
      var i = exact(st.query);
      choose(i === null ? rows[0] : i);
    });
    clear.addEventListener("click", function () {
      chosen = [];
      chosenSet = new Set();
      cur = null;
      update();
    });
    save.addEventListener("click", function () {
      var url = URL.createObjectURL(new Blob([st.csv()], { type: "text/csv;charset=utf-8" }));
      var a = el("a");
      a.href = url;
      a.download = spec.csv_name || "genes.csv";
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 2000);
    });
    prev.addEventListener("click", function () { if (page > 0) { page--; renderTable(); } });
    next.addEventListener("click", function () {
      if ((page + 1) * PAGE < rows.length) { page++; renderTable(); }
    });
    if (groupBox) groupBox.select.addEventListener("change", drawExpression);

    describeSelection();
    renderTable();
    drawn.push(drawExpression());
    return { state: st, drawn: Promise.all(drawn) };
  }

  // ---- MDS of the samples ------------------------------------------------------------------
  function mds(root, spec) {
    var st = { kind: "mds", title: spec.title, dims: [1, 2], colour: null, ready: false };
    if (spec.title) root.appendChild(el("h3", "dbw-title", spec.title));
    if (spec.note) root.appendChild(el("p", "dbw-note", spec.note));
    var bar = el("div", "dbw-bar");
    var dimOptions = spec.coords.map(function (c, d) {
      return [d + 1, "dimension " + (d + 1) + " (" + fmtPct(spec.var_explained[d]) + ")"];
    });
    var xBox = choice("x", dimOptions, "dbw-dimx"), yBox = choice("y", dimOptions, "dbw-dimy");
    yBox.select.value = "2";
    bar.append(xBox.wrap, yBox.wrap);
    var colourBox = null;
    if (spec.groups.length) {
      colourBox = choice("colour by", spec.groups.map(function (g, j) { return [j, g.name]; }), "dbw-colour");
      bar.appendChild(colourBox.wrap);
    }
    root.appendChild(bar);
    var row = el("div", "dbw-plots");
    var main = el("div", "dbw-plot dbw-mds"), bars = el("div", "dbw-plot dbw-var");
    row.append(main, bars);
    root.appendChild(row);

    function fmtPct(v) { return isNum(v) ? Math.round(100 * v) + "%" : "NA"; }
    function draw() {
      var dx = Number(xBox.select.value), dy = Number(yBox.select.value);
      st.dims = [dx, dy];
      var xs = spec.coords[dx - 1], ys = spec.coords[dy - 1];
      var g = colourBox ? spec.groups[Number(colourBox.select.value)] : null;
      st.colour = g ? g.name : null;
      var sets = g ? g.levels.map(function (level) {
        return { name: level, idx: spec.samples.map(function (s, j) { return j; })
                 .filter(function (j) { return g.values[j] === level; }) };
      }) : [{ name: "samples", idx: spec.samples.map(function (s, j) { return j; }) }];
      var traces = sets.map(function (set, c) {
        return {
          type: "scatter", mode: spec.samples.length <= 60 ? "markers+text" : "markers",
          name: esc(cut(set.name, 30)),
          x: set.idx.map(function (j) { return xs[j]; }), y: set.idx.map(function (j) { return ys[j]; }),
          text: set.idx.map(function (j) { return plain(spec.samples[j], 20); }),
          textposition: "top center", textfont: { size: 10 }, cliponaxis: false,
          hoverinfo: "text",
          hovertext: set.idx.map(function (j) {
            return "<b>" + plain(spec.samples[j], 60) + "</b>" + (g ? "<br>" + plain(g.name, 30) + ": " + plain(set.name, 40) : "");
          }),
          marker: { size: 10, color: PALETTE[c % PALETTE.length] },
        };
      });
      var lay = layout(plain(spec.plot_title || "MDS", 80),
        "Leading logFC dim " + dx + " (" + fmtPct(spec.var_explained[dx - 1]) + ")",
        "Leading logFC dim " + dy + " (" + fmtPct(spec.var_explained[dy - 1]) + ")");
      return Plotly.react(main, traces, lay, CONFIG);
    }
    var lay2 = layout("Variance explained", "dimension", "proportion");
    lay2.showlegend = false;
    lay2.xaxis.tickmode = "array";
    lay2.xaxis.tickvals = spec.var_explained.map(function (v, d) { return d + 1; });
    var barsDrawn = Plotly.newPlot(bars, [{
      type: "bar", x: spec.var_explained.map(function (v, d) { return d + 1; }),
      y: spec.var_explained, marker: { color: "#486581" }, hoverinfo: "y",
    }], lay2, CONFIG);
    [xBox.select, yBox.select].concat(colourBox ? [colourBox.select] : []).forEach(function (s) {
      s.addEventListener("change", draw);
    });
    return { state: st, drawn: Promise.all([draw(), barsDrawn]) };
  }

  // ---- start -------------------------------------------------------------------------------
  function fail(root, err) {
    var message = err && err.message ? err.message : String(err);
    api.errors.push(message);
    root.appendChild(el("p", "dbw-error", "This figure could not be drawn: " + message));
    if (window.console) console.error(err);
  }
  var pending = [];
  Array.prototype.forEach.call(document.querySelectorAll("div.dbw"), function (root) {
    var data = root.querySelector("script[type='application/json']");
    try {
      if (typeof Plotly === "undefined") throw new Error("plotly.js did not load");
      var spec = JSON.parse(data.textContent);
      var w = spec.kind === "mds" ? mds(root, spec) : linked(root, spec);
      api.widgets.push(w.state);
      pending.push(w.drawn.then(function () { w.state.ready = true; },
                                function (err) { fail(root, err); }));
    } catch (err) {
      fail(root, err);
    }
  });
  Promise.all(pending).then(function () {
    api.readyMs = performance.now();  // since navigation started (benchmarks)
    api.ready = true;
  });
})();
