/**
 * GET /status: one static HTML page whose script polls `status.json` every two seconds and shows
 * realms, sessions, registrations, subscriptions and the counters. All data is inserted with
 * `textContent` (never as HTML): authids and reasons come from clients. With a bearer token
 * configured, open the page as `/status#token=<token>` (a fragment is never sent to the server
 * or logged by proxies); the script sends it as `Authorization: Bearer` to status.json.
 */
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Switchyard status</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
  h1 { font-size: 1.4em; margin: 0 0 .5em; }
  h2 { font-size: 1.1em; margin: 1.2em 0 .4em; }
  table { border-collapse: collapse; min-width: 30em; }
  th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; }
  td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
  .summary span { display: inline-block; margin-right: 2em; }
  .summary b { font-size: 1.3em; }
  #state.bad { color: #b00; }
  #state.good { color: #070; }
</style>
</head>
<body>
<h1>Switchyard <span id="state">loading…</span></h1>
<div class="summary">
  <span>sessions <b id="session-count">–</b></span>
  <span>connections <b id="connection-count">–</b></span>
  <span>registrations <b id="registration-count">–</b></span>
  <span>subscriptions <b id="subscription-count">–</b></span>
  <span>pending calls <b id="pending-count">–</b></span>
  <span>uptime <b id="uptime">–</b></span>
</div>
<h2>Realms</h2>
<table id="realms"><thead><tr><th>realm</th><th class="n">sessions</th><th class="n">registrations</th><th class="n">subscriptions</th><th class="n">pending calls</th></tr></thead><tbody></tbody></table>
<h2>Sessions</h2>
<table id="sessions"><thead><tr><th>realm</th><th class="n">id</th><th>authid</th><th>authrole</th><th>authmethod</th></tr></thead><tbody></tbody></table>
<div id="cluster" hidden>
<h2>Cluster</h2>
<p>node <b id="cluster-node">–</b>, NATS <b id="cluster-nats">–</b></p>
<table id="cluster-peers"><thead><tr><th>node</th><th>state</th><th class="n">heartbeat age ms</th><th class="n">sessions</th><th>config</th></tr></thead><tbody></tbody></table>
</div>
<h2>Counters</h2>
<table id="counters"><thead><tr><th>counter</th><th class="n">value</th></tr></thead><tbody></tbody></table>
<p><small>Refreshed every 2 s. <span id="updated"></span></small></p>
<script>
(function () {
  var token = (/[#&]token=([^&]+)/.exec(location.hash) || [])[1];
  function cell(row, text, numeric) {
    var td = document.createElement('td');
    td.textContent = String(text);
    if (numeric) td.className = 'n';
    row.appendChild(td);
  }
  function fill(id, rows) {
    var body = document.querySelector('#' + id + ' tbody');
    body.textContent = '';
    rows.forEach(function (values) {
      var tr = document.createElement('tr');
      values.forEach(function (v) { cell(tr, v, typeof v === 'number'); });
      body.appendChild(tr);
    });
  }
  function text(id, value) { document.getElementById(id).textContent = String(value); }
  function render(s) {
    var state = document.getElementById('state');
    state.textContent = s.healthy ? (s.ready ? 'up' : 'starting') : 'shutting down';
    state.className = s.healthy && s.ready ? 'good' : 'bad';
    text('session-count', s.totals.sessions);
    text('connection-count', s.connections);
    text('registration-count', s.totals.registrations);
    text('subscription-count', s.totals.subscriptions);
    text('pending-count', s.totals.pendingCalls);
    text('uptime', s.uptimeSeconds + ' s');
    fill('realms', s.realms.map(function (r) { return [r.name, r.sessions, r.registrations, r.subscriptions, r.pendingCalls]; }));
    var sessions = [];
    s.realms.forEach(function (r) {
      r.sessionList.forEach(function (x) { sessions.push([r.name, x.id, x.authid, x.authrole, x.authmethod]); });
    });
    fill('sessions', sessions);
    if (s.cluster) {
      document.getElementById('cluster').hidden = false;
      text('cluster-node', s.cluster.node);
      text('cluster-nats', s.cluster.nats);
      fill('cluster-peers', s.cluster.peers.map(function (p) {
        return [p.node, p.alive ? 'alive' : 'dead', p.heartbeatAgeMs, p.sessions, p.configMatches ? 'same' : 'differs'];
      }));
    }
    var counters = [];
    function add(prefix, obj) { Object.keys(obj).sort().forEach(function (k) { counters.push([prefix + k, obj[k]]); }); }
    add('messages in: ', s.counters.messagesIn);
    add('messages out: ', s.counters.messagesOut);
    add('closes: ', s.counters.closes);
    counters.push(['bytes in', s.counters.bytesIn], ['bytes out', s.counters.bytesOut]);
    fill('counters', counters);
    text('updated', 'Last update ' + new Date().toLocaleTimeString() + '.');
    document.body.setAttribute('data-loaded', 'true');
  }
  function refresh() {
    var headers = token ? { Authorization: 'Bearer ' + decodeURIComponent(token) } : {};
    fetch('status.json', { headers: headers, cache: 'no-store' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(render)
      .catch(function (e) {
        var state = document.getElementById('state');
        state.textContent = 'unreachable (' + e.message + ')';
        state.className = 'bad';
      })
      .finally(function () { setTimeout(refresh, 2000); });
  }
  refresh();
})();
</script>
</body>
</html>
`;
