// The agent's status page: polls status.json (the same data as 'burrow status -o json') and renders
// it with textContent only (never innerHTML), so nothing from the agent is interpreted as markup.
"use strict";
const POLL_MS = 2000;      // how often the page asks for new data
const HISTORY = 30;        // RTT samples kept per relay and peer (a minute at POLL_MS)
const rtts = new Map();    // key -> [rtt ms]
const BARS = "▁▂▃▄▅▆▇█";

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function table(id, head, rows, empty) {
  const t = document.getElementById(id);
  t.replaceChildren();
  const tr = el("tr");
  head.forEach(h => tr.appendChild(el("th", h)));
  t.appendChild(tr);
  if (rows.length === 0) {
    const r = el("tr"); const td = el("td", empty, "empty"); td.colSpan = head.length; r.appendChild(td); t.appendChild(r);
    return;
  }
  rows.forEach(cells => {
    const r = el("tr");
    cells.forEach(c => r.appendChild(c instanceof Node ? c : el("td", c)));
    t.appendChild(r);
  });
}
function bytes(n) {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0; let v = n;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return (i === 0 ? v : v.toFixed(1)) + " " + u[i];
}
function rtt(key, ms) {
  const h = rtts.get(key) || [];
  if (ms !== null && ms !== undefined) { h.push(ms); if (h.length > HISTORY) h.shift(); }
  rtts.set(key, h);
  const td = el("td");
  td.appendChild(el("span", ms === null || ms === undefined ? "-" : ms + " ms"));
  if (h.length > 1) {
    const max = Math.max(...h) || 1;
    td.appendChild(el("span", " " + h.map(v => BARS[Math.min(BARS.length - 1, Math.floor(v / max * (BARS.length - 1)))]).join(""), "spark"));
  }
  return td;
}
function pathCell(p) { return el("td", p, p === "direct" ? "direct" : "relay"); }
function mono(s) { return el("td", s === null || s === undefined ? "-" : s, "mono"); }

function render(s) {
  document.getElementById("node").textContent = s.nodeId + (s.name ? " (" + s.name + ")" : "");
  const summary = document.getElementById("summary");
  summary.textContent = (s.ready ? "ready" : "not ready: " + s.readyProblem)
    + " · " + bytes(s.bytesFromPeers) + " from peers, " + bytes(s.bytesToPeers) + " to peers"
    + (s.configError ? " · CONFIG NOT RELOADED: " + s.configError : "");
  summary.className = s.ready ? "ok" : "bad";
  const r = s.relay;
  const cands = r.candidates && r.candidates.length > 0 ? r.candidates
    : [{url: r.url, region: null, rttMillis: r.rttMillis, state: r.state, lastError: r.lastError, home: true}];
  table("relays", ["", "relay", "state", "RTT", "last error"], cands.map(c => [
    el("td", c.home ? "home" : ""), mono((c.region ? c.region + "=" : "") + c.url),
    el("td", c.home ? r.state : c.state, (c.home ? r.state === "connected" : c.state === "up") ? "ok" : "bad"),
    rtt("relay " + c.url, c.home ? r.rttMillis : (c.rttMillis === null ? null : Math.round(c.rttMillis))),
    el("td", c.home ? r.lastError : c.lastError)]), "no relay");
  table("peers", ["peer", "name", "path", "RTT", "open", "direct endpoint"], s.peers.map(p => [
    mono(p.nodeId), el("td", p.name || "-"), pathCell(p.path), rtt("peer " + p.nodeId, p.rttMillis),
    el("td", p.openConnections), mono(p.endpoint)]), "no peers with open connections or a direct path");
  table("forwards", ["listen", "peer/service", "path", "open", "total", "failed", "last error"], s.forwards.map(f => [
    mono(f.listen + (f.listening ? "" : " (not listening)")), mono(f.peer + "/" + f.service), pathCell(f.path),
    el("td", f.openConnections), el("td", f.acceptedConnections), el("td", f.failedConnections),
    el("td", f.lastError)]), "no forwards");
  const pub = new Map((s.publicServices || []).map(p => [p.service, p]));
  table("services", ["service", "target", "allow", "open", "public"], s.services.map(v => {
    const p = pub.get(v.name);
    return [mono(v.name), mono(v.target), el("td", v.allow.join(", ")), el("td", v.openConnections + " / " + v.maxConnections),
      el("td", p ? p.state + (p.publicAddress ? " " + p.publicAddress : "") + (p.problem ? " (" + p.problem + ")" : "") : "-")];
  }), "no exposed services");
  table("connections", ["#", "direction", "peer", "service", "path", "local", "since", "from peer", "to peer"],
    s.connections.map(c => [el("td", c.id), el("td", c.direction), mono(c.peer + (c.peerName ? " (" + c.peerName + ")" : "")),
      mono(c.service), pathCell(c.path), mono(c.local), el("td", c.since), el("td", bytes(c.bytesFromPeer)),
      el("td", bytes(c.bytesToPeer))]), "no open connections");
  table("refusals", ["at", "direction", "peer/service", "code", "by", "reason"], s.recentRefusals.map(x => [
    el("td", x.at), el("td", x.direction), mono(x.peer + "/" + x.service), el("td", x.code, "bad"), el("td", x.by),
    el("td", x.message)]), "none");
}

async function poll() {
  const updated = document.getElementById("updated");
  try {
    const res = await fetch("status.json", {cache: "no-store"});
    if (!res.ok) throw new Error("HTTP " + res.status);
    render(await res.json());
    updated.textContent = "updated " + new Date().toLocaleTimeString();
    updated.className = "";
  } catch (e) {
    updated.textContent = "agent not answering (" + e.message + "); retrying";
    updated.className = "bad";
  }
  setTimeout(poll, POLL_MS);
}
poll();
