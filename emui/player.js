// EM Explorer's client-side step player (a Streamlit components.v2 component).
//
// The server publishes a fit's half-steps as static files, one per window of consecutive
// half-steps (emviz/player.py packs them); the player fetches the window on screen first and
// the others after it, and a press of ◀ / ▶ / the slider / a key draws the new half-step
// here, with Plotly.js, without asking the server. The step the learner stops on is then
// reported to the server (setStateValue "step"), which updates the panels below the player
// that depend on it.
//
// data = {v: payload version, base: URL prefix of its windows, window: half-steps per window,
//         n: half-steps, labels: their labels, step: the server's step, plotly: URL of
//         plotly.min.js, present: presentation mode, rows: layout, key: the page key;
//         or, for a view that follows the player of page key K, follow: K instead)

const G = (window.__emPlayer = window.__emPlayer || { windows: new Map(), plotly: null });
// Views that follow a page's player (emui.player.step_view) hear its steps here.
G.bus = G.bus || new EventTarget();
G.steps = G.steps || new Map();   // page key -> the step its player shows
const SYNC_MS = 40;     // report the step this long after the last change (coalesces key repeat)
const LEAD_MS = 400;    // ... but a press after this long without a report is reported at once
const PLAY_MS = 1100;   // one half-step per this many ms while playing
const KEEP = 64;        // windows kept in this tab (the browser's HTTP cache keeps them too)
const ASK_MS = 2500;    // a window still missing after this long is asked for (trigger "need")
const NEAR_PX = 150;    // a chart is drawn when it is on screen or this close to it

function loadPlotly(src) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!G.plotly) {
    G.plotly = new Promise((resolve, reject) => {
      // app.py may have started the download already (emui.player.preload)
      let el = document.querySelector("script[data-em-plotly]");
      if (!el) {
        el = document.createElement("script");
        el.src = src;
        el.async = true;
        el.dataset.emPlotly = "1";
        document.head.appendChild(el);
      }
      el.addEventListener("load", () => resolve(window.Plotly));
      el.addEventListener("error", () => { G.plotly = null; el.remove(); reject(new Error("Plotly.js did not load")); });
      if (window.Plotly) resolve(window.Plotly);
    });
  }
  return G.plotly;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Window ``url``, fetched once per tab. A 404 means the server is still packing it (in the
// background) or deleted it to save disk: try again, more slowly, for up to two minutes.
function fetchWindow(url) {
  let p = G.windows.get(url);
  if (p) { G.windows.delete(url); G.windows.set(url, p); return p; }
  p = (async () => {
    const t0 = performance.now();
    for (let attempt = 0; ; attempt++) {
      const r = await fetch(url);
      if (r.ok) {
        const stream = r.body.pipeThrough(new DecompressionStream("deflate"));
        const win = JSON.parse(await new Response(stream).text());
        // Pool values are decoded on first use (typed arrays once each): every half-step of
        // the window then hands Plotly the *same* objects for what did not change, and
        // Plotly.react redraws only the rest.
        win.raw = win.pool;
        win.pool = new Array(win.raw.length);
        win.done = new Uint8Array(win.raw.length);
        return win;
      }
      if (r.status !== 404 || performance.now() - t0 > 120000) {
        throw new Error("half-steps not available (" + r.status + ")");
      }
      await sleep(Math.min(80 * 2 ** attempt, 1000));
    }
  })();
  p.catch(() => G.windows.delete(url));
  G.windows.set(url, p);
  while (G.windows.size > KEEP) G.windows.delete(G.windows.keys().next().value);
  return p;
}

function val(win, i) {
  if (!win.done[i]) { win.pool[i] = typed(win.raw[i]); win.done[i] = 1; }
  return win.pool[i];
}

const DTYPES = { f8: Float64Array, f4: Float32Array, i1: Int8Array, u1: Uint8Array,
                 i2: Int16Array, u2: Uint16Array, i4: Int32Array, u4: Uint32Array };

function typed(v) {
  if (Array.isArray(v)) return v.map(typed);
  if (v === null || typeof v !== "object") return v;
  if (typeof v.bdata === "string" && DTYPES[v.dtype]) {
    const bytes = Uint8Array.from(atob(v.bdata), (c) => c.charCodeAt(0));
    const arr = new DTYPES[v.dtype](bytes.buffer);
    if (!v.shape) return arr;
    // an n-d array as nested arrays of typed rows (the last axis), as Plotly.js decodes it
    const shape = String(v.shape).split(",").map(Number);
    const nest = (off, d) => d === shape.length - 1 ? arr.subarray(off, off + shape[d])
      : Array.from({ length: shape[d] }, (_, i) =>
          nest(off + i * shape.slice(d + 1).reduce((a, b) => a * b, 1), d + 1));
    return nest(0, 0);
  }
  const out = {};
  for (const [k, x] of Object.entries(v)) out[k] = typed(x);
  return out;
}

function el(tag, cls, attrs) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

// The page's theme, read from Streamlit's CSS variables (light or dark), as a Plotly template.
function themeLayout(host, present) {
  const cs = getComputedStyle(host);
  const v = (name, fallback) => (cs.getPropertyValue(name) || "").trim() || fallback;
  const text = v("--st-text-color", "#31333F");
  const font = v("--st-font", "Source Sans Pro, sans-serif");
  const grid = v("--st-border-color-light", v("--st-border-color", "rgba(128,128,128,0.25)"));
  const axis = { automargin: true, gridcolor: grid, zerolinecolor: grid, linecolor: grid, tickcolor: grid,
                 title: { font: { color: text } }, tickfont: { color: text } };
  return {
    key: text + "|" + font + "|" + grid + "|" + (present ? "P" : ""),
    scale: present ? 1.3 : 1,
    layout: {
      font: { family: font, color: text },
      hoverlabel: { font: { family: font } },
      legend: { font: { color: text } },
      xaxis: axis, yaxis: axis,
    },
  };
}

function merge(base, extra) {
  // extra fills what base does not set (the figure's own settings win)
  if (Array.isArray(base) || typeof base !== "object" || base === null) return base;
  const out = { ...base };
  for (const [k, val] of Object.entries(extra)) {
    if (!(k in out)) out[k] = structuredClone(val);
    else if (typeof out[k] === "object" && out[k] !== null && !Array.isArray(out[k]) &&
             typeof val === "object" && !("bdata" in out[k])) out[k] = merge(out[k], val);
  }
  return out;
}

// Presentation mode: every font size inside a layout entry, times ``scale`` (in place).
function scaleFonts(v, scale) {
  if (!v || typeof v !== "object" || ArrayBuffer.isView(v)) return;
  for (const [k, x] of Object.entries(v)) {
    if (/font$/.test(k) && x && typeof x === "object" && typeof x.size === "number") x.size *= scale;
    if (x && typeof x === "object") scaleFonts(x, scale);
  }
}

// Half-step s of figure ``name``: traces and layout entries are the pool's own objects (or,
// for the layout, their themed copies, made once per theme), so whatever did not change is
// the very same object as at the last step and Plotly.react leaves it alone.
function build(win, name, s, theme) {
  const step = win.figures[name][s - win.start];
  const memo = (win.memo = win.memo || new Map());
  const themed = (k, i) => {
    const key = k + "|" + i + "|" + theme.key;
    if (!memo.has(key)) {
      let v = structuredClone(val(win, i));
      if (/^[xy]axis[0-9]*$/.test(k)) v = merge(v, theme.layout.xaxis);
      else if (k === "font" || k === "hoverlabel" || k === "legend") v = merge(v, theme.layout[k]);
      if (theme.scale !== 1) {
        if (k === "font") v.size = (v.size || 12) * theme.scale;
        scaleFonts(v, theme.scale);
      }
      else if (k === "title" && v && typeof v === "object") v = merge(v, { font: { color: theme.layout.font.color } });
      memo.set(key, v);
    }
    return memo.get(key);
  };
  const data = step.d.map((t) => {
    const o = {};
    for (const [k, i] of Object.entries(t)) o[k] = val(win, i);
    return o;
  });
  const layout = {};
  for (const [k, i] of Object.entries(step.l)) layout[k] = themed(k, i);
  for (const k of ["xaxis", "yaxis", "font", "hoverlabel", "legend"]) {
    if (!layout[k]) layout[k] = memo.get("default|" + k + "|" + theme.key) ||
      memo.set("default|" + k + "|" + theme.key, structuredClone(theme.layout[k === "yaxis" ? "xaxis" : k])).get("default|" + k + "|" + theme.key);
  }
  layout.autosize = true;
  delete layout.width;
  return { data, layout };
}

// A figure may describe its own narrow variant (layout.meta.narrow = {below: px, layout:
// overrides, data: {trace index: overrides}}): below that width the overrides replace the
// figure's own settings (e.g. short column names, no cell labels on a phone).
function overlay(base, over) {
  if (!over || typeof over !== "object" || Array.isArray(over)) return over;
  const out = { ...(base && typeof base === "object" ? base : {}) };
  for (const [k, v] of Object.entries(over)) out[k] = overlay(out[k], v);
  return out;
}

function narrowed(fig, width) {
  const n = fig.layout.meta && fig.layout.meta.narrow;
  if (!n || !(width > 0) || width >= n.below) return fig;
  const data = fig.data.map((t, i) => (n.data && n.data[i] ? { ...t, ...n.data[i] } : t));
  return { data, layout: overlay(fig.layout, n.layout || {}) };
}

const CONFIG = { displaylogo: false, responsive: true, scrollZoom: false,
                 modeBarButtonsToRemove: ["lasso2d", "select2d"] };

class Player {
  constructor(root, setStateValue) {
    this.root = root;
    this.setStateValue = setStateValue;
    this.s = 0;
    this.reported = null;   // last step sent to the server
    this.serverStep = null; // last step the server said
    this.timer = null;
    this.playing = null;
    this.meta = null;      // {v, base, window, n, labels}
    this.loaded = new Map(); // window index -> window, for this.meta.v
    this.onKey = (e) => this.key(e);
  }

  mount(rows, present, follower) {
    this.root.replaceChildren();
    this.root.classList.toggle("emp-present", !!present);
    this.cells = {};
    this.range = null;
    if (follower) { this.mountRows(rows); return; }
    const bar = el("div", "emp-bar", { role: "group", "aria-label": "Half-step" });
    const mk = (txt, title, fn, cls) => {
      const b = el("button", "emp-btn " + (cls || ""), { type: "button", title, "aria-label": title });
      b.textContent = txt;
      b.addEventListener("click", fn);
      bar.appendChild(b);
      return b;
    };
    if (present) this.first = mk("⏮", "First half-step (Home)", () => this.go(0));
    this.prev = mk("◀", "Previous half-step", () => this.go(this.s - 1));
    const wrap = el("div", "emp-slider");
    this.label = el("div", "emp-label", { "aria-hidden": "true" });
    this.range = el("input", "emp-range", { type: "range", min: "0", step: "1", "aria-label": "Step" });
    this.range.addEventListener("input", () => this.go(Number(this.range.value)));
    wrap.append(this.label, this.range);
    bar.appendChild(wrap);
    this.next = mk("▶", "Next half-step", () => this.go(this.s + 1));
    if (present) {
      this.last = mk("⏭", "Last half-step (End)", () => this.go(this.meta.n - 1));
      this.play = mk("⏯ Play", "Play the run (Space)", () => this.toggle(), "emp-play");
    }
    this.root.appendChild(bar);
    // Presentation mode: one screen holds the main chart and, beside it, the narration and
    // the proof's current line (the other charts wait for the normal layout).
    let layoutRows = rows;
    if (present) {
      const main = rows.find((r) => r.some((c) => c.kind === "chart")) || rows[0];
      const charts = main.filter((c) => c.kind === "chart");
      const texts = rows.flat().filter((c) => c.kind !== "chart");
      layoutRows = [[...charts.map((c) => ({ ...c, flex: 2.2 / charts.length })),
                     { kind: "column", name: "side", flex: 1, cells: texts }]];
    }
    this.mountRows(layoutRows);
    document.removeEventListener("keydown", this.onKey);
    if (present) document.addEventListener("keydown", this.onKey);
  }

  mountRows(layoutRows) {
    if (this.seen) this.seen.disconnect();
    this.byNode = new Map();  // a chart's box -> its cell
    this.seen = new IntersectionObserver((entries) => {
      for (const e of entries) {
        if (!e.isIntersecting) continue;
        const cell = this.byNode.get(e.target);
        if (cell && cell.want && cell.node.classList.contains("emp-stale")) {
          this.drawChart(cell, ...cell.want, this.theme());
        }
      }
    }, { rootMargin: NEAR_PX + "px 0px" });
    const makeCell = (cell) => {
      const c = el("div", "emp-cell emp-" + cell.kind + " st-key-" + cell.name);
      c.style.flex = String(cell.flex || 1);
      if (cell.minw) c.style.minWidth = cell.minw + "px";
      if (cell.kind === "column") {
        for (const sub of cell.cells) c.appendChild(makeCell(sub));
        return c;
      }
      const inner = el("div", cell.kind === "chart" ? "emp-chart" : "emp-html");
      if (cell.kind === "chart" && cell.height) inner.style.minHeight = cell.height + "px";
      if (cell.kind !== "chart" && cell.box) c.classList.add("emp-box");
      c.appendChild(inner);
      this.cells[cell.name] = { kind: cell.kind, node: inner, sized: !!cell.height };
      if (cell.kind === "chart") { this.byNode.set(inner, this.cells[cell.name]); this.seen.observe(inner); }
      return c;
    };

    for (const row of layoutRows) {
      const r = el("div", "emp-row");
      for (const cell of row) r.appendChild(makeCell(cell));
      this.root.appendChild(r);
    }
    // Redraw on a width change, for figures with a narrow variant (phone ↔ wider).
    if (this.resize) this.resize.disconnect();
    let lastW = this.root.clientWidth;
    this.resize = new ResizeObserver(() => {
      const w = this.root.clientWidth;
      if (Math.abs(w - lastW) < 8 || !this.meta || !this.drawn) return;
      lastW = w;
      clearTimeout(this.resizeTimer);
      this.resizeTimer = setTimeout(() => this.draw(this.s), 120);
    });
    this.resize.observe(this.root);
  }

  key(e) {
    const t = e.target;
    if (t && t !== this.range && (t.closest && t.closest("input, textarea, select, [contenteditable=true]"))) return;
    const map = { ArrowLeft: () => this.go(this.s - 1), ArrowRight: () => this.go(this.s + 1),
                  Home: () => this.go(0), End: () => this.go(this.meta.n - 1),
                  " ": () => this.toggle() };
    if (t === this.range && e.key !== " ") return;  // the range handles its own arrows
    const f = map[e.key];
    if (f) { e.preventDefault(); f(); }
  }

  toggle() {
    if (this.playing) { clearInterval(this.playing); this.playing = null; }
    else {
      if (this.s >= this.meta.n - 1) this.go(0);
      this.playing = setInterval(() => {
        if (this.s >= this.meta.n - 1) { this.toggle(); return; }
        this.go(this.s + 1);
      }, PLAY_MS);
    }
    if (this.play) this.play.textContent = this.playing ? "⏸ Pause" : "⏯ Play";
  }

  go(s) {
    if (!this.meta) return;
    s = Math.max(0, Math.min(this.meta.n - 1, Math.round(s)));
    if (s === this.s && this.drawn) return;
    clearTimeout(this.timer);
    const now = performance.now();
    if (now - (this.lastReport || -1e9) > LEAD_MS) {
      // A single press: tell the server first, so that its rerun overlaps this drawing.
      this.report(s, now);
      this.draw(s);
      return;
    }
    this.draw(s);  // a key held down or a drag: report where it ends
    this.timer = setTimeout(() => this.report(this.s, performance.now()), SYNC_MS);
  }

  report(s, now) {
    this.lastReport = now;
    if (this.reported !== s) { this.reported = s; this.setStateValue("step", s); }
  }

  // A new fit (or new view options): its windows are fetched afresh.
  setMeta(data, setTriggerValue) {
    this.meta = { v: data.v, base: data.base, window: Number(data.window), n: Number(data.n),
                  labels: data.labels };
    this.setTriggerValue = setTriggerValue;
    this.loaded = new Map();
    this.prefetching = false;
  }

  win(w) {
    const v = this.meta.v;
    return fetchWindow(this.meta.base + "-" + w + ".bin").then((win) => {
      if (this.meta.v === v) this.loaded.set(w, win);
      return win;
    });
  }

  // After the first drawing, the other windows, nearest first, one at a time.
  async prefetch() {
    if (this.prefetching) return;
    this.prefetching = true;
    const { v, n, window: W } = this.meta;
    const count = Math.ceil(n / W), here = Math.floor(this.s / W);
    const order = [...Array(count).keys()].sort((a, b) => Math.abs(a - here) - Math.abs(b - here) || a - b);
    for (const w of order) {
      if (this.meta.v !== v) return;
      if (!this.loaded.has(w)) { try { await this.win(w); } catch (e) { /* asked for when needed */ } }
    }
  }

  draw(s) {
    const M = this.meta;
    this.s = s;
    this.drawn = true;
    if (this.pageKey) {  // the page's player: its views follow
      G.steps.set(this.pageKey, s);
      G.bus.dispatchEvent(new CustomEvent("em-step", { detail: { key: this.pageKey, s } }));
    }
    const lab = M.labels[s];
    if (this.range) this.drawBar(s, lab);
    const w = Math.floor(s / M.window);
    const win = this.loaded.get(w);
    if (win) { this.render(win, s); return; }
    // Not here yet: the bar moves at once, the charts when the window arrives.
    this.root.classList.add("emp-wait");
    const v = M.v;
    const ask = setTimeout(() => {
      if (this.meta.v === v && this.s === s && this.setTriggerValue) this.setTriggerValue("need", { v, w: [w] });
    }, ASK_MS);
    this.win(w).then((got) => {
      clearTimeout(ask);
      if (this.meta.v === v && this.s === s) this.render(got, s);
    }).catch((err) => {
      this.root.classList.remove("emp-wait");
      if (this.label) this.label.textContent = lab + " — " + err.message;
    });
  }

  drawBar(s, lab) {
    const M = this.meta;
    this.range.max = String(M.n - 1);
    this.range.value = String(s);
    this.range.setAttribute("aria-valuenow", String(s));
    this.range.setAttribute("aria-valuemin", "0");
    this.range.setAttribute("aria-valuemax", String(M.n - 1));
    this.range.setAttribute("aria-valuetext", lab);
    this.label.textContent = lab + "  (" + (s + 1) + " of " + M.n + ")";
    this.prev.disabled = s <= 0;
    this.next.disabled = s >= M.n - 1;
  }

  // Whether a chart's box is on screen or within NEAR_PX of it (a closed tab's is not).
  near(node) {
    const r = node.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) return false;
    return r.bottom > -NEAR_PX && r.top < window.innerHeight + NEAR_PX;
  }

  theme() {
    return themeLayout(this.root, this.root.classList.contains("emp-present"));
  }

  // Draw chart ``name`` at half-step s of window win, in ``theme`` (this.theme()).
  drawChart(cell, name, win, s, theme) {
    const f = narrowed(build(win, name, s, theme), cell.node.clientWidth);
    this.holdHeight(cell, f.layout.height);
    window.Plotly.react(cell.node, f.data, f.layout, CONFIG);
    cell.node.classList.remove("emp-stale");
  }

  // A chart without a given height keeps its figure's: a responsive Plotly chart in a box of
  // no height would shrink to nothing after a width change, and an undrawn one would make
  // the page jump when it is drawn.
  holdHeight(cell, height) {
    const h = !cell.sized && height ? height + "px" : null;
    if (h && cell.node.style.minHeight !== h) cell.node.style.minHeight = h;
  }

  render(win, s) {
    this.root.classList.remove("emp-wait");
    const theme = this.theme();  // read once per step: it reads the page's computed style
    for (const [name, cell] of Object.entries(this.cells)) {
      if (cell.kind === "chart") {
        if (!win.figures[name]) continue;
        cell.want = [name, win, s];
        if (this.near(cell.node)) { this.drawChart(cell, name, win, s, theme); continue; }
        cell.node.classList.add("emp-stale");
        this.seen.unobserve(cell.node);  // observed afresh: its first report says where it is now
        this.seen.observe(cell.node);
        if (!cell.sized && !cell.node.style.minHeight) {  // the figure's height, from the pool
          const i = win.figures[name][s - win.start].l.height;
          this.holdHeight(cell, i === undefined ? null : val(win, i));
        }
      } else if (win.texts[name]) {
        const htmlText = val(win, win.texts[name][s - win.start]);
        if (cell.html !== htmlText) { cell.node.innerHTML = htmlText; cell.html = htmlText; }
      }
    }
    if (!this.prefetching) setTimeout(() => this.prefetch(), 0);
  }
}

export default function (component) {
  const { data, setStateValue, setTriggerValue, parentElement } = component;
  if (!data || !data.v) return;
  let root = parentElement.querySelector(":scope > .emp");
  if (!root) { root = el("div", "emp"); parentElement.appendChild(root); }
  let p = root.__player;
  if (!p) { p = root.__player = new Player(root, setStateValue); }
  p.setStateValue = setStateValue;
  const follow = data.follow || null;
  p.pageKey = follow ? null : (data.key || null);
  const layoutKey = JSON.stringify([data.rows, !!data.present, follow]);
  if (p.layoutKey !== layoutKey) { p.mount(data.rows, data.present, !!follow); p.layoutKey = layoutKey; p.drawn = false; }
  if (follow && !p.onBus) {
    p.onBus = (e) => {
      if (e.detail.key === follow && p.meta && p.drawn && e.detail.s !== p.s) p.draw(Math.min(e.detail.s, p.meta.n - 1));
    };
    G.bus.addEventListener("em-step", p.onBus);
  }
  const serverStep = Number(data.step);
  const known = follow ? G.steps.get(follow) : undefined;
  const first = known !== undefined && known < Number(data.n) ? known : serverStep;
  // The window on screen downloads while Plotly.js loads.
  fetchWindow(data.base + "-" + Math.floor(first / Number(data.window)) + ".bin").catch(() => {});
  loadPlotly(data.plotly).then(() => {
    const fresh = !p.meta || p.meta.v !== data.v;
    if (fresh) p.setMeta(data, setTriggerValue);
    p.setTriggerValue = setTriggerValue;
    let s = p.s;
    if (follow) {
      // A view shows what its page's player shows (the server's step until that draws).
      const now = G.steps.get(follow);
      s = now !== undefined && now < p.meta.n ? now : serverStep;
    } else if (fresh || !p.drawn) s = serverStep;
    // Adopt the server's step when it changed it itself (a reset, a link, "Reveal"), not when
    // it only echoes a step this player reported.
    else if (serverStep !== p.serverStep && serverStep !== p.reported) s = serverStep;
    p.serverStep = serverStep;
    if (fresh || !p.drawn || s !== p.s) { p.drawn = false; p.reported = s; p.draw(Math.min(s, p.meta.n - 1)); }
  }).catch((err) => {
    root.textContent = "The step player could not start: " + err.message;
  });
  return () => {
    document.removeEventListener("keydown", p.onKey);
    if (p.onBus) { G.bus.removeEventListener("em-step", p.onBus); p.onBus = null; }
    if (p.playing) p.toggle();
  };
}
