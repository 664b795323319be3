// sdn-costroute web view: a live picture of the network, read from the controller's
// REST API (/v1, same origin). Plain ES2020, no build step; the graph is drawn by the
// vendored cytoscape (vendor/cytoscape.min.js). The page's CSP allows no inline script
// or style, so everything is wired up here and styled by app.css.
//
// Data flow: one poll loop (one request in flight at a time) reads /v1/topology and
// /v1/health every second and /v1/model every fifth round; the results update `state`
// (which remembers every link direction and switch it has seen, so one that disappears
// is drawn as down) and then the graph and the panels. The layout runs once; new nodes
// are placed next to their neighbours and every position is kept in memory.
'use strict';

(() => {
  const POLL_MS = 1000;
  const HIDDEN_POLL_MS = 5000;
  const MODEL_EVERY = 5; // polls per /v1/model read (it lists every link: the heaviest)
  const PATH_REFRESH_MS = 5000; // re-ask the shown paths (costs move)
  const REQUEST_TIMEOUT_MS = 5000;
  const MAX_BACKOFF_MS = 5000;
  const K_PATHS = 3;
  const DEFER_FORCE_ABOVE = 40; // switches: a larger first picture is drawn before its force pass
  const TOKEN_KEY = 'sdn-costroute.token';
  const DOWN_LIST_MAX = 10;
  const COLOR_NO_DATA = '#8fa3b3';
  const COLOR_DOWN = '#9aa3ab';
  const COLOR_PATH = '#2563eb';

  const $ = (id) => document.getElementById(id);

  // -------------------------------------------------------------------- state
  const state = {
    switches: new Map(), // dpid -> {dpid, up, ports, lastSeen}
    links: new Map(), // "srcDpid>dstDpid" -> {key, src, dst, up, data (last JSON), downSince}
    hosts: new Map(), // mac -> {mac, ipv4, dpid, port}
    positions: new Map(), // node id -> {x, y}: survives a node leaving and coming back
    health: null,
    model: null,
    metric: null, // GET/PUT /v1/metric reply
    polls: 0,
    failures: 0,
    lastOk: 0,
    rendered: false,
    layout: { done: false, switches: 0, cables: 0, userMoved: false, userViewport: false },
    sel: { from: null, to: null }, // node ids of the path endpoints
    paths: null, // last /v1/paths reply
    shownPath: 0,
    pathSeq: 0,
    pathAt: 0,
    topoSignature: '',
    pickedLink: null, // key of the link direction in the link panel
    tooltipFor: null,
    // ms since navigation start; updateMs: the last poll round's graph and panel update
    timing: {
      script: performance.now(),
      topology: null,
      firstRender: null,
      layoutSettled: null,
      updateMs: null,
    },
  };

  // -------------------------------------------------------------------- naming
  const swId = (dpid) => `sw:${dpid}`;
  const hostId = (mac) => `h:${mac}`;
  const linkId = (key) => `ln:${key}`;
  const accessId = (mac) => `ac:${mac}`;

  /** "s5" for Mininet-style dpids (small numbers), else the hex without leading zeros. */
  function swLabel(dpid) {
    if (/^0{8}/.test(dpid)) return `s${parseInt(dpid, 16)}`;
    return dpid.replace(/^0+/, '') || '0';
  }

  function hostLabel(h) {
    return h.ipv4 || h.mac;
  }

  /** A node id's label: switch name or host address. */
  function nodeLabel(id) {
    if (id.startsWith('sw:')) return swLabel(id.slice(3));
    const h = state.hosts.get(id.slice(2));
    return h ? hostLabel(h) : id.slice(2);
  }

  /** What /v1/paths accepts for a node: a dpid or a host MAC. */
  function endpointOf(id) {
    return id.startsWith('sw:') ? id.slice(3) : id.slice(2);
  }

  const known = (x) => x !== null && x !== undefined;

  function fmt(x, digits = 2, unit = '') {
    if (!Number.isFinite(x)) return '–'; // null, undefined, NaN too
    return `${x.toFixed(digits)}${unit}`;
  }

  function fmtPct(x, digits = 1) {
    return Number.isFinite(x) ? `${(100 * x).toFixed(digits)} %` : '–';
  }

  function fmtRate(bps) {
    if (!Number.isFinite(bps)) return '–';
    if (bps >= 1e9) return `${(bps / 1e9).toFixed(2)} Gbit/s`;
    if (bps >= 1e6) return `${(bps / 1e6).toFixed(2)} Mbit/s`;
    if (bps >= 1e3) return `${(bps / 1e3).toFixed(1)} kbit/s`;
    return `${bps.toFixed(0)} bit/s`;
  }

  function clock(ms) {
    return new Date(ms).toLocaleTimeString([], { hour12: false });
  }

  /** Green (idle) to red (full) by utilization; grey-blue when not measured yet. */
  function utilColor(u) {
    if (!Number.isFinite(u)) return COLOR_NO_DATA;
    const t = Math.max(0, Math.min(1, u));
    return hslHex(130 * (1 - t), 0.7, 0.42);
  }

  function hslHex(h, s, l) {
    const a = s * Math.min(l, 1 - l);
    const f = (n) => {
      const k = (n + h / 30) % 12;
      const c = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
      return Math.round(255 * c).toString(16).padStart(2, '0');
    };
    return `#${f(0)}${f(8)}${f(4)}`;
  }

  // -------------------------------------------------------------------- REST client
  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  /** One JSON request; the stored token goes along as Bearer. Errors carry the server's
   *  {"error": ...} text; a 401 opens the token form. */
  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = `Bearer ${token}`;
    const init = { method, headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const ctrl = new AbortController();
    init.signal = ctrl.signal;
    const timer = setTimeout(() => ctrl.abort(), REQUEST_TIMEOUT_MS);
    try {
      let resp;
      try {
        resp = await fetch(path, init);
      } catch (err) {
        const why = err.name === 'AbortError' ? `no answer in ${REQUEST_TIMEOUT_MS / 1000} s` : err.message;
        throw new ApiError(0, `controller unreachable (${why})`);
      }
      let data = null;
      try {
        data = await resp.json();
      } catch {
        data = null; // not JSON: reported by status below
      }
      if (!resp.ok) {
        const text = data && typeof data.error === 'string' ? data.error : `HTTP ${resp.status}`;
        if (resp.status === 401) askToken(text);
        throw new ApiError(resp.status, text);
      }
      return data;
    } finally {
      clearTimeout(timer);
    }
  }

  function say(el, text, kind) {
    el.textContent = text;
    el.dataset.kind = kind;
  }

  // -------------------------------------------------------------------- token form
  function askToken(reason) {
    const panel = $('auth-panel');
    $('auth-reason').textContent = sessionStorage.getItem(TOKEN_KEY)
      ? `The token was refused: ${reason}`
      : `The controller needs a bearer token: ${reason}`;
    if (panel.hidden) {
      panel.hidden = false;
      $('auth-token').focus();
    }
  }

  function saveToken() {
    const value = $('auth-token').value.trim();
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
    $('auth-token').value = '';
    $('auth-panel').hidden = true;
    pollSoon();
    loadMetric();
  }

  // -------------------------------------------------------------------- graph
  const cy = cytoscape({
    container: $('graph'),
    minZoom: 0.15,
    maxZoom: 4,
    boxSelectionEnabled: false,
    autounselectify: true,
    style: [
      {
        selector: 'node',
        style: {
          label: 'data(label)',
          'text-valign': 'center',
          'text-halign': 'center',
          'min-zoomed-font-size': 7,
          'font-family': 'system-ui, DejaVu Sans, sans-serif',
        },
      },
      {
        selector: 'node.switch',
        style: {
          shape: 'round-rectangle',
          width: 36,
          height: 22,
          'font-size': 11,
          'font-weight': 600,
          color: '#ffffff',
          'background-color': '#2f4a66',
          'border-width': 1.5,
          'border-color': '#1b2c3e',
        },
      },
      {
        selector: 'node.host',
        style: {
          shape: 'ellipse',
          width: 11,
          height: 11,
          'font-size': 9,
          color: '#4a5864',
          'text-valign': 'bottom',
          'text-margin-y': 2,
          'min-zoomed-font-size': 8,
          'background-color': '#c8d1d9',
          'border-width': 1,
          'border-color': '#7d8b97',
        },
      },
      {
        selector: 'node.down',
        style: {
          'background-color': '#e7eaed',
          color: '#7f8a93',
          'border-style': 'dashed',
          'border-color': COLOR_DOWN,
        },
      },
      {
        selector: 'edge.link',
        style: {
          'curve-style': 'bezier',
          'control-point-step-size': 14,
          width: 3,
          'line-color': 'data(color)',
          'target-arrow-shape': 'triangle',
          'target-arrow-color': 'data(color)',
          'arrow-scale': 0.85,
        },
      },
      {
        selector: 'edge.access',
        style: { width: 1.2, 'line-color': '#b9c3cc', 'curve-style': 'straight' },
      },
      {
        selector: 'edge.link.down',
        style: {
          width: 2,
          'line-color': COLOR_DOWN,
          'target-arrow-color': COLOR_DOWN,
          'line-style': 'dashed',
          'line-dash-pattern': [6, 4],
        },
      },
      {
        selector: 'edge.onpath',
        style: {
          width: 4,
          'z-index': 10,
          'underlay-color': COLOR_PATH,
          'underlay-padding': 4,
          'underlay-opacity': 0.5,
        },
      },
      {
        selector: 'node.onpath, node.endpoint',
        style: { 'border-width': 3, 'border-color': COLOR_PATH, 'z-index': 10 },
      },
      { selector: 'node.host.onpath, node.host.endpoint', style: { 'background-color': COLOR_PATH } },
      { selector: '.faded', style: { opacity: 0.4 } },
      { selector: 'edge.hover', style: { width: 5 } },
      {
        selector: 'edge.picked',
        style: { 'overlay-color': COLOR_PATH, 'overlay-opacity': 0.18, 'overlay-padding': 5 },
      },
    ],
  });

  function remember(node) {
    const p = node.position();
    state.positions.set(node.id(), { x: p.x, y: p.y });
  }

  /** Switch ids linked to a switch node (either direction, up or down). */
  function neighbourSwitches(node) {
    return node.connectedEdges('.link').connectedNodes().filter((n) => n.id() !== node.id());
  }

  function centroid(nodes) {
    let x = 0;
    let y = 0;
    nodes.forEach((n) => {
      x += n.position('x');
      y += n.position('y');
    });
    return nodes.length ? { x: x / nodes.length, y: y / nodes.length } : { x: 0, y: 0 };
  }

  /** A small stable number from a string (spreads positions without randomness). */
  function hashAngle(text) {
    let h = 2166136261;
    for (let i = 0; i < text.length; i += 1) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
    return ((h >>> 0) % 360) * (Math.PI / 180);
  }

  /** Move a proposed position out of the way of the switches already there. */
  function freeSpot(pos, self, minDist = 46) {
    const others = cy.nodes('.switch').filter((n) => n.id() !== self && !n.data('unplaced'));
    let { x, y } = pos;
    for (let i = 0; i < 60; i += 1) {
      const clash = others.some((n) => Math.hypot(n.position('x') - x, n.position('y') - y) < minDist);
      if (!clash) break;
      const a = i * 2.4; // golden-angle spiral
      const r = minDist * (0.6 + 0.25 * Math.sqrt(i + 1));
      x = pos.x + r * Math.cos(a);
      y = pos.y + r * Math.sin(a);
    }
    return { x, y };
  }

  /** Place one new switch next to its placed neighbours, or beside the drawing if it has
   *  none yet (then it is "floating" and moves once, when its first link appears). */
  function placeSwitch(node) {
    const nbrs = neighbourSwitches(node).filter((n) => !n.data('unplaced'));
    const placed = cy.nodes('.switch').filter((n) => n.id() !== node.id() && !n.data('unplaced'));
    let pos;
    if (nbrs.length) {
      const c = centroid(nbrs);
      const g = centroid(placed);
      let a = Math.atan2(c.y - g.y, c.x - g.x); // outwards from the middle of the drawing
      if (nbrs.length > 1) a += Math.PI / 2; // between two neighbours: off their line
      a += (hashAngle(node.id()) - Math.PI) / 6;
      const d = nbrs.length > 1 ? 30 : 80;
      pos = { x: c.x + d * Math.cos(a), y: c.y + d * Math.sin(a) };
      node.removeData('floating');
    } else if (placed.length) {
      const bb = placed.boundingBox();
      const floating = cy.nodes('.switch').filter((n) => n.data('floating')).length;
      pos = { x: bb.x2 + 90, y: bb.y1 + 50 * floating };
      node.data('floating', true);
    } else {
      pos = { x: 0, y: 0 };
      node.data('floating', true);
    }
    node.removeData('unplaced');
    node.position(freeSpot(pos, node.id()));
    remember(node);
  }

  /** Spread a switch's hosts on a short arc in the widest gap between its links. */
  function placeHostsOf(dpid) {
    const sw = cy.getElementById(swId(dpid));
    if (sw.empty()) return;
    const hosts = cy
      .nodes('.host')
      .filter((n) => n.data('dpid') === dpid)
      .sort((a, b) => (a.id() < b.id() ? -1 : 1));
    if (!hosts.length) return;
    const p = sw.position();
    const angles = neighbourSwitches(sw)
      .map((n) => Math.atan2(n.position('y') - p.y, n.position('x') - p.x))
      .sort((a, b) => a - b);
    let base;
    let gap = 2 * Math.PI;
    if (angles.length) {
      // the middle of the widest empty sector around the switch
      gap = -1;
      angles.forEach((a, i) => {
        const next = i + 1 < angles.length ? angles[i + 1] : angles[0] + 2 * Math.PI;
        if (next - a > gap) {
          gap = next - a;
          base = a + gap / 2;
        }
      });
    } else {
      const g = centroid(cy.nodes('.switch'));
      base = Math.hypot(p.y - g.y, p.x - g.x) < 1 ? -Math.PI / 2 : Math.atan2(p.y - g.y, p.x - g.x);
    }
    const n = hosts.length;
    const spread = n > 1 ? Math.min(0.5, (gap * 0.8) / (n - 1)) : 0;
    const dist = 42 + 10 * Math.floor(n / 8);
    hosts.forEach((h, i) => {
      const a = base + (i - (n - 1) / 2) * spread;
      h.position({ x: p.x + dist * Math.cos(a), y: p.y + dist * Math.sin(a) });
      remember(h);
    });
  }

  function cableCount() {
    const cables = new Set();
    for (const l of state.links.values()) {
      cables.add(l.src < l.dst ? `${l.src}|${l.dst}` : `${l.dst}|${l.src}`);
    }
    return cables.size;
  }

  /** The one full layout: switches seeded on a circle (in dpid order, so the result
   *  does not depend on luck), then a force-directed pass (cose) over switches and links;
   *  hosts go next to their switches. Runs at the first render, when the drawing grew a
   *  lot since (the page was opened during discovery) and on the Re-layout button.
   *  With `deferForce` and a large graph the seeded picture is drawn first and the
   *  force pass follows once the browser has painted it (100 switches: the cose pass
   *  alone takes 200-300 ms), then hosts are placed again: drawn at once, settled soon. */
  function fullLayout(deferForce = false) {
    const sws = cy.nodes('.switch').sort((a, b) => (a.id() < b.id() ? -1 : 1));
    const n = sws.length;
    if (!n) return;
    // A single ring is drawn best as a circle in ring order; anything else gets cose.
    const ring = ringOrder(sws);
    const r = Math.max(150, n * 16);
    (ring || sws.toArray()).forEach((node, i) => {
      const a = (2 * Math.PI * i) / n - Math.PI / 2;
      node.position({ x: r * Math.cos(a), y: r * Math.sin(a) });
    });
    const links = cy.edges('.link');
    const force = n > 2 && links.length && !ring;
    if (force && deferForce && n > DEFER_FORCE_ABOVE) {
      finishLayout(sws, false);
      requestAnimationFrame(() =>
        setTimeout(() => {
          forceLayout(sws, links, n);
          finishLayout(sws, true);
        }, 0),
      );
      return;
    }
    if (force) forceLayout(sws, links, n);
    finishLayout(sws, true);
  }

  function forceLayout(sws, links, n) {
    sws
      .union(links)
      .layout({
        name: 'cose',
        animate: false,
        randomize: false,
        fit: false,
        nodeDimensionsIncludeLabels: false,
        idealEdgeLength: () => 70,
        edgeElasticity: () => 60,
        nodeRepulsion: () => 40000,
        nodeOverlap: 8,
        gravity: 0.5,
        // cose costs about n^2 per iteration: from the seeded circle, fewer iterations
        // settle large graphs well enough (100 switches: 1,200 took ~600 ms, 250 ~200).
        numIter: n <= 40 ? 1200 : 250,
        componentSpacing: 60,
      })
      .run();
  }

  function finishLayout(sws, settled) {
    if (settled) stretchToView(sws);
    cy.batch(() => {
      sws.forEach((node) => {
        node.removeData('unplaced');
        node.removeData('floating');
        remember(node);
      });
      for (const dpid of new Set(cy.nodes('.host').map((h) => h.data('dpid')))) placeHostsOf(dpid);
    });
    state.layout.done = true;
    state.layout.switches = sws.length;
    state.layout.cables = cableCount();
    state.layout.userViewport = false;
    fitView();
    if (settled && state.timing.layoutSettled === null) {
      state.timing.layoutSettled = performance.now();
      document.body.dataset.layoutSettledMs = state.timing.layoutSettled.toFixed(1);
    }
  }

  /** The switches in ring order when they form one cycle (every switch has two
   *  neighbours and a walk from the first visits them all), else null. */
  function ringOrder(sws) {
    if (sws.length < 3 || !sws.every((node) => neighbourSwitches(node).length === 2)) return null;
    const order = [sws[0]];
    const seen = new Set([sws[0].id()]);
    for (;;) {
      const next = neighbourSwitches(order[order.length - 1])
        .sort((a, b) => (a.id() < b.id() ? -1 : 1))
        .filter((x) => !seen.has(x.id()));
      if (!next.length) break;
      order.push(next[0]);
      seen.add(next[0].id());
    }
    return order.length === sws.length ? order : null;
  }

  /** Force-directed layouts come out round; a wide view is better used a bit wider. */
  function stretchToView(sws) {
    if (sws.length <= 12) return;
    const bb = sws.boundingBox();
    if (!bb.w || !bb.h || !cy.height()) return;
    const factor = Math.max(1, Math.min(1.6, cy.width() / cy.height() / (bb.w / bb.h)));
    const cx = bb.x1 + bb.w / 2;
    sws.forEach((node) => {
      node.position('x', cx + (node.position('x') - cx) * factor);
    });
  }

  function fitView() {
    if (cy.elements().length) cy.fit(cy.elements(), 40);
    if (cy.zoom() > 1.6) {
      cy.zoom(1.6);
      cy.center();
    }
  }

  /** Bring the graph in line with `state`: add what is new, mark what is down. Never
   *  moves a node that is already placed (except hosts that changed switch). */
  function syncGraph() {
    const newSwitches = [];
    const hostsToPlace = new Set(); // dpids whose hosts need (re)placing
    cy.batch(() => {
      for (const sw of state.switches.values()) {
        const id = swId(sw.dpid);
        let node = cy.getElementById(id);
        if (node.empty()) {
          const saved = state.positions.get(id);
          node = cy.add({
            group: 'nodes',
            data: { id, label: swLabel(sw.dpid), dpid: sw.dpid, unplaced: saved ? undefined : true },
            classes: 'switch',
            position: saved ? { ...saved } : { x: 0, y: 0 },
          });
          if (!saved) newSwitches.push(node);
        }
        node.toggleClass('down', !sw.up);
      }
      for (const l of state.links.values()) {
        const id = linkId(l.key);
        let edge = cy.getElementById(id);
        const color = utilColor(l.data.utilization);
        if (edge.empty()) {
          edge = cy.add({
            group: 'edges',
            data: { id, key: l.key, source: swId(l.src), target: swId(l.dst), color },
            classes: 'link',
          });
        } else if (edge.data('color') !== color) {
          edge.data('color', color);
        }
        edge.toggleClass('down', !l.up);
      }
      // Hosts: gone ones leave (their position is kept), moved ones are re-placed.
      cy.nodes('.host').forEach((node) => {
        const h = state.hosts.get(node.data('mac'));
        if (!h || h.dpid !== node.data('dpid') || !state.switches.has(h.dpid)) {
          remember(node);
          hostsToPlace.add(node.data('dpid'));
          cy.remove(node); // its access edge goes with it
        }
      });
      for (const h of state.hosts.values()) {
        const id = hostId(h.mac);
        if (!state.switches.has(h.dpid)) continue;
        let node = cy.getElementById(id);
        if (node.empty()) {
          const saved = state.positions.get(id);
          const sw = cy.getElementById(swId(h.dpid)).position();
          const near = saved && Math.hypot(saved.x - sw.x, saved.y - sw.y) < 120;
          node = cy.add({
            group: 'nodes',
            data: { id, mac: h.mac, dpid: h.dpid, label: hostLabel(h) },
            classes: 'host',
            position: near ? { ...saved } : { ...sw },
          });
          cy.add({
            group: 'edges',
            data: { id: accessId(h.mac), source: id, target: swId(h.dpid) },
            classes: 'access',
          });
          if (!near) hostsToPlace.add(h.dpid);
        } else if (node.data('label') !== hostLabel(h)) {
          node.data('label', hostLabel(h));
        }
      }
    });

    const nSwitches = cy.nodes('.switch').length;
    const grew =
      nSwitches >= 1.5 * state.layout.switches || cableCount() >= 1.5 * state.layout.cables + 1;
    if (nSwitches && (!state.layout.done || (grew && !state.layout.userMoved))) {
      fullLayout(!state.layout.done); // the very first picture: drawn before its force pass
    } else {
      for (const node of newSwitches) placeSwitch(node);
      // A switch placed without links moves once, next to its first neighbours.
      cy.nodes('.switch')
        .filter((n) => n.data('floating') && neighbourSwitches(n).length)
        .forEach((n) => {
          placeSwitch(n);
          hostsToPlace.add(n.data('dpid'));
        });
      newSwitches.forEach((n) => hostsToPlace.add(n.data('dpid')));
      cy.batch(() => {
        for (const dpid of hostsToPlace) placeHostsOf(dpid);
      });
      if ((newSwitches.length || hostsToPlace.size) && !state.layout.userViewport) fitView();
    }
    applyHighlight();
  }

  // -------------------------------------------------------------------- topology update
  function applyTopology(topo) {
    const started = performance.now();
    const now = Date.now();
    const seenSwitches = new Set();
    for (const s of topo.switches) {
      seenSwitches.add(s.dpid);
      state.switches.set(s.dpid, { dpid: s.dpid, up: true, ports: s.ports, lastSeen: now });
    }
    for (const s of state.switches.values()) if (!seenSwitches.has(s.dpid)) s.up = false;

    const seenLinks = new Set();
    for (const l of topo.links) {
      const key = `${l.src.dpid}>${l.dst.dpid}`;
      seenLinks.add(key);
      for (const dpid of [l.src.dpid, l.dst.dpid]) {
        // A link to a switch not (yet) listed: draw the switch, as down.
        if (!state.switches.has(dpid)) state.switches.set(dpid, { dpid, up: false, ports: [], lastSeen: 0 });
      }
      state.links.set(key, { key, src: l.src.dpid, dst: l.dst.dpid, up: true, data: l, downSince: null });
    }
    for (const l of state.links.values()) {
      if (!seenLinks.has(l.key) && l.up) {
        l.up = false;
        l.downSince = now;
      }
    }
    state.hosts = new Map(topo.hosts.map((h) => [h.mac, h]));
    // What routing depends on changed: the shown paths are re-asked in this poll round.
    const signature = [
      [...seenSwitches].sort().join(),
      [...seenLinks].sort().join(),
      topo.hosts.map((h) => `${h.mac}@${h.dpid}`).sort().join(),
    ].join('|');
    if (signature !== state.topoSignature) {
      state.topoSignature = signature;
      state.pathAt = 0;
    }
    syncGraph();
    renderCounts();
    renderDownList();
    renderEndpointOptions();
    renderLinkOptions();
    renderLinkInfo();
    if (state.tooltipFor) showTooltip(state.tooltipFor.id, state.tooltipFor.pos);
    state.timing.updateMs = performance.now() - started;
  }

  /** Drop what is drawn as down (links and switches); they come back if seen again. */
  function forgetDown() {
    for (const [key, l] of state.links) {
      if (!l.up) {
        state.links.delete(key);
        cy.remove(cy.getElementById(linkId(key)));
      }
    }
    for (const [dpid, s] of state.switches) {
      if (!s.up) {
        state.switches.delete(dpid);
        cy.remove(cy.getElementById(swId(dpid)));
      }
    }
    renderCounts();
    renderDownList();
    renderLinkOptions();
    renderLinkInfo();
  }

  // -------------------------------------------------------------------- counts, down list
  function renderCounts() {
    const up = (m) => [...m.values()].filter((x) => x.up).length;
    const down = state.links.size - up(state.links);
    const set = (id, value) => {
      const el = $(id);
      el.textContent = String(value);
      el.dataset.count = String(value);
    };
    set('count-switches', up(state.switches));
    set('count-links', up(state.links));
    set('count-hosts', state.hosts.size);
    set('count-down', down);
  }

  function renderDownList() {
    const list = $('down-links');
    $('down-panel').hidden = ![...state.links.values()].some((l) => !l.up);
    const down = [...state.links.values()].filter((l) => !l.up).sort((a, b) => (a.key < b.key ? -1 : 1));
    const signature = down.map((l) => l.key).join(' ');
    if (list.dataset.links === signature) return;
    list.dataset.links = signature; // every link drawn down (the list shows the first few)
    list.replaceChildren();
    down.slice(0, DOWN_LIST_MAX).forEach((l) => {
      const li = document.createElement('li');
      li.dataset.link = l.key;
      li.textContent = `${swLabel(l.src)} → ${swLabel(l.dst)} down since ${clock(l.downSince)}`;
      list.append(li);
    });
    if (down.length > DOWN_LIST_MAX) {
      const li = document.createElement('li');
      li.textContent = `and ${down.length - DOWN_LIST_MAX} more`;
      list.append(li);
    }
  }

  // -------------------------------------------------------------------- tooltip
  function linkLines(l) {
    const d = l.data;
    const w = d.weights || {};
    const lines = [
      [`${swLabel(l.src)} → ${swLabel(l.dst)}`, 'title'],
      [`port ${d.src.port} → port ${d.dst.port}`],
    ];
    if (!l.up) lines.push([`DOWN since ${clock(l.downSince)} (last values below)`, 'state-down']);
    lines.push(
      [`utilization ${fmtPct(d.utilization)} (${fmtRate(d.tx_bps)} of ${fmtRate(d.capacity_bps)})`],
      [`delay measured ${fmt(d.latency_ms, 3, ' ms')}, predicted ${fmt(d.predicted_latency_ms, 3, ' ms')}`],
      [`cost ${fmt(w.cost, 3)}${known(d.cost_override) ? ` (override ${fmt(d.cost_override, 3)})` : ''}`],
    );
    return lines;
  }

  function nodeLines(id) {
    if (id.startsWith('sw:')) {
      const s = state.switches.get(id.slice(3));
      if (!s) return [];
      const hosts = [...state.hosts.values()].filter((h) => h.dpid === s.dpid).length;
      const lines = [
        [`switch ${swLabel(s.dpid)}`, 'title'],
        [`dpid ${s.dpid}`],
        [`${s.ports.length} ports, ${hosts} hosts`],
      ];
      if (!s.up) lines.push(['DOWN (disconnected)', 'state-down']);
      return lines;
    }
    const h = state.hosts.get(id.slice(2));
    if (!h) return [];
    return [[`host ${hostLabel(h)}`, 'title'], [`MAC ${h.mac}`], [`on ${swLabel(h.dpid)} port ${h.port}`]];
  }

  function showTooltip(id, pos) {
    const el = $('tooltip');
    let lines = [];
    if (id.startsWith('ln:')) {
      const l = state.links.get(id.slice(3));
      if (l) lines = linkLines(l);
    } else {
      lines = nodeLines(id);
    }
    if (!lines.length) {
      hideTooltip();
      return;
    }
    el.replaceChildren(
      ...lines.map(([text, cls]) => {
        const div = document.createElement('div');
        div.textContent = text;
        if (cls) div.className = cls;
        return div;
      }),
    );
    el.dataset.for = id;
    el.hidden = false;
    const wrap = el.parentElement.getBoundingClientRect();
    const left = Math.min(pos.x + 14, wrap.width - el.offsetWidth - 6);
    const top = pos.y + 14 + el.offsetHeight > wrap.height ? pos.y - el.offsetHeight - 10 : pos.y + 14;
    el.style.left = `${Math.max(4, left)}px`;
    el.style.top = `${Math.max(4, top)}px`;
    state.tooltipFor = { id, pos };
  }

  function hideTooltip() {
    $('tooltip').hidden = true;
    state.tooltipFor = null;
  }

  // -------------------------------------------------------------------- paths
  const optionLists = new WeakMap(); // <select> -> what it lists now

  /** Fill a <select> from [[group label or null, [[value, text], ...]], ...], keeping
   *  the chosen value; rebuilt only when the list changed (so an open list stays put). */
  function setOptions(select, groups, keep, blank = true) {
    const signature = JSON.stringify(groups);
    if (optionLists.get(select) !== signature) {
      optionLists.set(select, signature);
      const parts = blank ? [new Option('–', '')] : [];
      for (const [label, items] of groups) {
        if (!items.length) continue;
        if (label === null) {
          for (const [value, text] of items) parts.push(new Option(text, value));
          continue;
        }
        const g = document.createElement('optgroup');
        g.label = label;
        for (const [value, text] of items) g.append(new Option(text, value));
        parts.push(g);
      }
      select.replaceChildren(...parts);
    }
    select.value = keep || '';
    if (select.value !== (keep || '') && blank) select.value = '';
  }

  function renderEndpointOptions() {
    const hosts = [...state.hosts.values()]
      .sort((a, b) => (a.ipv4 || a.mac).localeCompare(b.ipv4 || b.mac, undefined, { numeric: true }))
      .map((h) => [hostId(h.mac), `${hostLabel(h)}${h.ipv4 ? ` (${h.mac})` : ''}`]);
    const switches = [...state.switches.values()]
      .filter((s) => s.up)
      .sort((a, b) => (a.dpid < b.dpid ? -1 : 1))
      .map((s) => [swId(s.dpid), `${swLabel(s.dpid)} (${s.dpid})`]);
    const groups = [
      ['hosts', hosts],
      ['switches', switches],
    ];
    setOptions($('path-from'), groups, state.sel.from);
    setOptions($('path-to'), groups, state.sel.to);
  }

  function markEndpoints() {
    cy.nodes('.endpoint').removeClass('endpoint');
    for (const id of [state.sel.from, state.sel.to]) if (id) cy.getElementById(id).addClass('endpoint');
    $('path-from').value = state.sel.from || '';
    $('path-to').value = state.sel.to || '';
  }

  function setEndpoints(from, to) {
    state.sel = { from, to };
    state.paths = null;
    state.shownPath = 0;
    state.pathSeq += 1; // an answer still on its way is for the old pair
    markEndpoints();
    renderPaths();
    if (from && to) {
      requestPaths();
    } else {
      say($('path-msg'), from ? `from ${nodeLabel(from)}: now pick the other end` : '', 'info');
    }
  }

  async function requestPaths() {
    const { from, to } = state.sel;
    if (!from || !to) return;
    const seq = ++state.pathSeq;
    state.pathAt = Date.now();
    const [a, b] = [from, to].map((id) => encodeURIComponent(endpointOf(id)));
    const url = `/v1/paths/${a}/${b}?k=${K_PATHS}`;
    try {
      const reply = await api('GET', url);
      if (seq !== state.pathSeq) return; // the selection changed meanwhile
      state.paths = reply;
      if (state.shownPath >= reply.paths.length) state.shownPath = 0;
      const n = reply.paths.length;
      const what = `${n} path${n === 1 ? '' : 's'} from ${nodeLabel(from)} to ${nodeLabel(to)}`;
      say($('path-msg'), `${what} by ${reply.metric}`, 'ok');
    } catch (err) {
      if (seq !== state.pathSeq) return;
      state.paths = null;
      say($('path-msg'), err.message, 'error');
    }
    renderPaths();
  }

  function pathDpids(p) {
    return p.hops.map((h) => h.dpid);
  }

  function renderPaths() {
    const list = $('path-list');
    list.replaceChildren();
    const paths = state.paths ? state.paths.paths : [];
    paths.forEach((p, i) => {
      const li = document.createElement('li');
      li.dataset.index = String(i);
      li.dataset.path = pathDpids(p).join(',');
      li.className = i === state.shownPath ? 'shown' : '';
      const cost = document.createElement('span');
      cost.className = 'cost';
      cost.textContent = `cost ${fmt(p.total_cost, 3)}`;
      const hops = document.createElement('span');
      hops.className = 'hops';
      hops.textContent = ` · ${p.hops.length} hop${p.hops.length === 1 ? '' : 's'}: `;
      li.append(cost, hops, pathDpids(p).map(swLabel).join(' → '));
      li.title = 'highlight this path';
      li.addEventListener('click', () => {
        state.shownPath = i;
        renderPaths();
      });
      list.append(li);
    });
    applyHighlight();
  }

  /** Highlight the shown path (switches, link directions, end hosts); fade the rest. */
  function applyHighlight() {
    const out = $('path-highlight');
    const p = state.paths && state.paths.paths[state.shownPath];
    cy.batch(() => {
      cy.elements('.onpath').removeClass('onpath');
      cy.elements('.faded').removeClass('faded');
      if (!p) return;
      let on = cy.collection();
      pathDpids(p).forEach((d) => {
        on = on.union(cy.getElementById(swId(d)));
      });
      p.links.forEach((l) => {
        on = on.union(cy.getElementById(linkId(`${l.src}>${l.dst}`)));
      });
      for (const end of [state.paths.src, state.paths.dst]) {
        if (end.type === 'host') {
          on = on.union(cy.getElementById(hostId(end.mac))).union(cy.getElementById(accessId(end.mac)));
        }
      }
      on.addClass('onpath');
      cy.elements().difference(on).addClass('faded');
    });
    const dpids = p ? pathDpids(p) : [];
    const value = dpids.join(',');
    if (out.dataset.path !== value) {
      out.dataset.path = value;
      out.textContent = p ? dpids.map(swLabel).join(' → ') : 'none';
    }
  }

  // -------------------------------------------------------------------- link panel
  function renderLinkOptions() {
    const items = [...state.links.values()]
      .sort((a, b) => (a.key < b.key ? -1 : 1))
      .map((l) => [l.key, `${swLabel(l.src)} → ${swLabel(l.dst)}${l.up ? '' : ' (down)'}`]);
    setOptions($('link-select'), [[null, items]], state.pickedLink);
  }

  function pickLink(key) {
    state.pickedLink = key || null;
    cy.edges('.picked').removeClass('picked');
    if (key) cy.getElementById(linkId(key)).addClass('picked');
    $('link-select').value = key || '';
    say($('link-msg'), '', 'info');
    const l = key && state.links.get(key);
    $('link-cost').value = l && known(l.data.cost_override) ? String(l.data.cost_override) : '';
    renderLinkInfo();
  }

  function renderLinkInfo() {
    const dl = $('link-info');
    const l = state.pickedLink && state.links.get(state.pickedLink);
    if (!l) {
      dl.replaceChildren();
      return;
    }
    const d = l.data;
    const w = d.weights || {};
    const weights = Object.keys(w)
      .sort()
      .map((k) => `${k} ${fmt(w[k], 3)}`)
      .join(', ');
    fillKv(dl, [
      ['state', l.up ? 'up' : `down since ${clock(l.downSince)}`, l.up ? 'good' : 'bad'],
      ['ports', `${swLabel(l.src)}:${d.src.port} → ${swLabel(l.dst)}:${d.dst.port}`],
      ['utilization', `${fmtPct(d.utilization)} (${fmtRate(d.tx_bps)} of ${fmtRate(d.capacity_bps)})`],
      ['delay', `${fmt(d.latency_ms, 3, ' ms')} measured, ${fmt(d.predicted_latency_ms, 3, ' ms')} predicted`],
      ['cost', `${fmt(w.cost, 3)} (predicted ${fmt(d.predicted_cost, 3)}, fallback ${fmt(d.fallback_cost, 3)})`],
      ['override', known(d.cost_override) ? fmt(d.cost_override, 3) : 'none'],
      ['weights', weights || '–'],
    ]);
  }

  function fillKv(dl, rows) {
    const parts = [];
    for (const [k, v, cls] of rows) {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v;
      if (cls) dd.className = cls;
      parts.push(dt, dd);
    }
    dl.replaceChildren(...parts);
  }

  async function setCost(remove) {
    const key = state.pickedLink;
    const msg = $('link-msg');
    if (!key) {
      say(msg, 'pick a link direction first (click it on the graph)', 'error');
      return;
    }
    const l = state.links.get(key);
    const url = `/v1/links/${l.src}/${l.dst}/cost`;
    const name = `${swLabel(l.src)} → ${swLabel(l.dst)}`;
    try {
      let reply;
      if (remove) {
        reply = await api('DELETE', url);
      } else {
        const text = $('link-cost').value.trim();
        const cost = Number(text);
        if (text === '' || !Number.isFinite(cost)) {
          say(msg, 'enter a number for the cost', 'error');
          return;
        }
        reply = await api('PUT', url, { cost });
      }
      l.data = reply;
      const w = reply.weights || {};
      say(
        msg,
        remove
          ? `${name}: override removed, cost now ${fmt(w.cost, 3)}`
          : `${name}: cost overridden to ${fmt(reply.cost_override, 3)}`,
        'ok',
      );
      renderLinkInfo();
      if (state.sel.from && state.sel.to) requestPaths();
    } catch (err) {
      say(msg, `${name}: ${err.message}`, 'error');
    }
  }

  // -------------------------------------------------------------------- metric panel
  async function loadMetric() {
    try {
      renderMetric(await api('GET', '/v1/metric'));
      if ($('metric-msg').dataset.kind === 'error') say($('metric-msg'), '', 'info');
    } catch (err) {
      say($('metric-msg'), err.message, 'error');
    }
  }

  function renderMetric(m) {
    state.metric = m;
    const select = $('metric-select');
    const available = m.available || [m.metric];
    setOptions(select, [[null, available.map((x) => [x, x])]], m.metric, false);
    $('metric-active').textContent = m.active || '–';
  }

  async function changeMetric() {
    const select = $('metric-select');
    const wanted = select.value;
    try {
      const m = await api('PUT', '/v1/metric', { metric: wanted });
      renderMetric(m);
      say($('metric-msg'), `metric set to ${m.metric} (active: ${m.active})`, 'ok');
      if (state.sel.from && state.sel.to) requestPaths();
    } catch (err) {
      say($('metric-msg'), `could not set ${wanted}: ${err.message}`, 'error');
      if (state.metric) select.value = state.metric.metric;
    }
  }

  // -------------------------------------------------------------------- health, model
  function renderHealth(h) {
    state.health = h;
    fillKv($('health-info'), [
      ['status', h.status, h.status === 'ok' ? 'good' : 'bad'],
      ['switches', String(h.switches)],
      ['links', `${h.links} directed`],
      ['hosts', String(h.hosts)],
      ['routes', String(h.routes)],
      ['metric', `${h.metric} (active ${h.active_metric})`],
      ['path cache', h.path_cache ? `${h.path_cache.hits} hits, ${h.path_cache.misses} misses` : '–'],
    ]);
    const table = $('health-counters');
    const rows = Object.keys(h.counters || {})
      .sort()
      .map((k) => {
        const tr = document.createElement('tr');
        const a = document.createElement('td');
        a.textContent = k.replaceAll('_', ' ');
        const b = document.createElement('td');
        b.textContent = String(h.counters[k]);
        tr.append(a, b);
        return tr;
      });
    table.replaceChildren(...rows);
    const shown = h.metric === h.active_metric ? h.metric : `${h.metric} → ${h.active_metric}`;
    $('active-metric').textContent = shown;
    // Follow a metric changed elsewhere (pathctl, another page), unless the list is open.
    const m = state.metric;
    const changed = m && (m.metric !== h.metric || m.active !== h.active_metric);
    if (changed && document.activeElement !== $('metric-select')) {
      renderMetric({ ...m, metric: h.metric, active: h.active_metric });
    }
  }

  function renderModel(m) {
    state.model = m;
    const q = m.live_quality || {};
    const beats =
      Number.isFinite(q.mae_ms) && Number.isFinite(q.persistence_mae_ms)
        ? q.mae_ms < q.persistence_mae_ms
          ? ['beats persistence', 'good']
          : ['does not beat persistence', 'bad']
        : ['not scored yet', ''];
    fillKv($('model-info'), [
      ['loaded', m.loaded ? 'yes' : `no${m.error ? `: ${m.error}` : ''}`, m.loaded ? 'good' : 'bad'],
      ['live samples', String(q.samples ?? 0)],
      ['MAE', `${fmt(q.mae_ms, 3, ' ms')} (persistence ${fmt(q.persistence_mae_ms, 3, ' ms')})`],
      ['R²', `${fmt(q.r2, 3)} (persistence ${fmt(q.persistence_r2, 3)})`],
      ['verdict', beats[0], beats[1]],
      ['coverage', fmtPct(m.coverage)],
      ['fallback share', `${fmtPct(m.fallback_share)} (${m.fallback_links ?? 0} links; ${m.fallback ?? '–'})`],
      ['last prediction', known(m.last_prediction_age_s) ? `${fmt(m.last_prediction_age_s, 1)} s ago` : '–'],
    ]);
  }

  // -------------------------------------------------------------------- poll loop
  let pollTimer = null;
  let polling = false;

  function setStatus(stateName, text) {
    const el = $('status');
    el.dataset.state = stateName;
    el.textContent = text;
  }

  /** One round: topology, health, sometimes the model; strictly one request at a time. */
  async function poll() {
    if (polling) return;
    polling = true;
    pollTimer = null;
    const started = performance.now();
    try {
      const topo = await api('GET', '/v1/topology');
      if (state.timing.topology === null) state.timing.topology = performance.now();
      applyTopology(topo);
      firstRender();
      renderHealth(await api('GET', '/v1/health'));
      if (state.polls % MODEL_EVERY === 0) renderModel(await api('GET', '/v1/model'));
      if (state.sel.from && state.sel.to && Date.now() - state.pathAt > PATH_REFRESH_MS) await requestPaths();
      state.polls += 1;
      state.failures = 0;
      state.lastOk = Date.now();
      setStatus('live', `live · ${clock(state.lastOk)}`);
    } catch (err) {
      state.failures += 1;
      setStatus(err.status === 401 ? 'auth' : 'error', err.message);
    } finally {
      polling = false;
      const base = document.hidden ? HIDDEN_POLL_MS : POLL_MS; // a background tab polls less
      const wait = state.failures ? Math.min(MAX_BACKOFF_MS, base * 2 ** (state.failures - 1)) : base;
      pollTimer = setTimeout(poll, Math.max(0, wait - (performance.now() - started)));
    }
  }

  function pollSoon() {
    if (polling) return;
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = setTimeout(poll, 0);
  }

  function firstRender() {
    if (state.rendered) return;
    state.rendered = true;
    // Benchmark and test hooks: the first picture is drawn (ms since navigation start).
    state.timing.firstRender = performance.now();
    document.body.dataset.firstRenderMs = state.timing.firstRender.toFixed(1);
    document.body.dataset.ready = '1';
    $('graph').dataset.ready = '1';
  }

  // -------------------------------------------------------------------- wiring
  cy.on('mouseover', 'edge.link, node', (evt) => {
    if (evt.target.isEdge()) evt.target.addClass('hover');
    showTooltip(evt.target.id(), evt.renderedPosition);
  });
  cy.on('mouseout', 'edge.link, node', (evt) => {
    evt.target.removeClass('hover');
    hideTooltip();
  });
  cy.on('tap', 'node', (evt) => {
    const id = evt.target.id();
    if (!state.sel.from || state.sel.to) setEndpoints(id, null);
    else setEndpoints(state.sel.from, id);
    showTooltip(id, evt.renderedPosition);
  });
  cy.on('tap', 'edge.link', (evt) => {
    pickLink(evt.target.data('key'));
    showTooltip(evt.target.id(), evt.renderedPosition);
  });
  cy.on('tap', (evt) => {
    if (evt.target === cy) hideTooltip();
  });
  cy.on('dragfree', 'node', (evt) => {
    remember(evt.target);
    state.layout.userMoved = true; // the user arranges now: no automatic full layout
    if (evt.target.hasClass('switch')) {
      evt.target.removeData('floating');
      placeHostsOf(evt.target.data('dpid'));
    }
  });
  cy.on('tapstart', (evt) => {
    if (evt.target === cy) state.layout.userViewport = true;
  });
  $('graph').addEventListener('wheel', () => {
    state.layout.userViewport = true;
  }, { passive: true });

  $('path-from').addEventListener('change', (e) => setEndpoints(e.target.value || null, state.sel.to));
  $('path-to').addEventListener('change', (e) => setEndpoints(state.sel.from, e.target.value || null));
  $('path-clear').addEventListener('click', () => {
    setEndpoints(null, null);
    say($('path-msg'), '', 'info');
  });
  $('link-select').addEventListener('change', (e) => pickLink(e.target.value));
  $('link-cost-set').addEventListener('click', () => setCost(false));
  $('link-cost-clear').addEventListener('click', () => setCost(true));
  $('link-cost').addEventListener('keydown', (e) => {
    if (e.key === 'Enter') setCost(false);
  });
  $('metric-select').addEventListener('change', changeMetric);
  $('auth-form').addEventListener('submit', (e) => {
    e.preventDefault(); // never navigates (the CSP has form-action 'none' anyway)
    saveToken();
  });
  $('btn-fit').addEventListener('click', () => {
    state.layout.userViewport = false;
    fitView();
  });
  $('btn-layout').addEventListener('click', () => {
    state.layout.userMoved = false;
    fullLayout();
  });
  $('btn-forget').addEventListener('click', forgetDown);
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) pollSoon();
  });

  // For debugging in the browser console (and tests): the graph and the state.
  window.sdnWebView = { cy, state, applyTopology };

  loadMetric();
  poll();
})();
