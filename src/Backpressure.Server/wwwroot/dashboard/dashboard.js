// The live dashboard: polls /stats and /alerts and draws the last two minutes with uPlot.
// Counters in /stats are totals since start; rates are differences between polls.
(() => {
  const pollMs = 500;
  const keep = 240;
  const gauges = ["backpressure", "adaptive", "request"];
  const palette = ["#2563eb", "#93c5fd", "#dc2626", "#fca5a5", "#16a34a", "#86efac", "#9333ea", "#d8b4fe"];

  const charts = {};
  const data = {};
  let previous = null;
  let points = 0;

  function chart(id, series) {
    const element = document.getElementById(id);
    data[id] = [[], ...series.map(() => [])];
    charts[id] = new uPlot({
      width: element.clientWidth || 560,
      height: 220,
      series: [{}, ...series.map((label, i) => ({ label, stroke: palette[i % palette.length], width: 2, points: { show: false } }))],
      axes: [{}, { size: 60 }],
      scales: { x: { time: true } },
    }, data[id], element);
  }

  function push(id, values) {
    const columns = data[id];
    columns[0].push(Date.now() / 1000);
    values.forEach((v, i) => columns[i + 1].push(v));
    if (columns[0].length > keep) columns.forEach(c => c.shift());
    charts[id].setData(columns);
  }

  chart("chart-permits", gauges.flatMap(g => [`${g} in flight`, `${g} limit`]));
  chart("chart-decisions", ["admitted/s", "refused/s"]);
  chart("chart-queues", ["feed depth (all)", "feed deepest", "ingest depth (all)", "ingest deepest", "dropped/s"]);
  chart("chart-latency", gauges.flatMap(g => [`${g} p50`, `${g} p99`]));
  const priorities = ["critical", "normal", "sheddable", "batch"];
  chart("chart-priorities", priorities.flatMap(p => [`${p} admitted/s`, `${p} shed/s`]));
  chart("chart-threshold", ["threshold rank", "waiting"]);
  chart("chart-budget", ["held MiB", "budget MiB"]);
  chart("chart-blocked", ["WebSocket longest blocked s", "gRPC longest blocked s"]);

  function perSecond(now, before, pick, seconds) {
    if (!before) return 0;
    return Math.max(0, (pick(now) - pick(before)) / seconds);
  }

  function render(alerts) {
    const list = document.getElementById("alert-list");
    list.replaceChildren(...alerts.alerts.map(a => {
      const item = document.createElement("li");
      item.className = a.status;
      item.dataset.alert = a.name;
      item.textContent = `${a.name}: ${a.status} (${a.signal} = ${Number(a.value).toFixed(2)}, > ${a.threshold} for ${a.for_seconds} s)`;
      return item;
    }));
  }

  async function poll() {
    try {
      const [stats, alerts] = await Promise.all([fetch("/stats").then(r => r.json()), fetch("/alerts").then(r => r.json())]);
      const at = performance.now();
      const seconds = previous ? (at - previous.at) / 1000 : 1;
      const g = stats.gauges;
      push("chart-permits", gauges.flatMap(name => [g[name]?.in_flight ?? 0, g[name]?.permit_limit ?? 0]));
      const sum = (s, field) => gauges.reduce((total, name) => total + (s.gauges[name]?.[field] ?? 0), 0);
      push("chart-decisions", [
        perSecond(stats, previous?.stats, s => sum(s, "accepted"), seconds),
        perSecond(stats, previous?.stats, s => sum(s, "refused"), seconds),
      ]);
      const ws = name => stats.web_sockets.endpoints[name] ?? { queued: 0, max_queue_depth: 0, dropped: 0 };
      const dropped = s => Object.values(s.web_sockets.endpoints).reduce((t, e) => t + e.dropped, 0);
      push("chart-queues", [ws("feed").queued, ws("feed").max_queue_depth, ws("ingest").queued, ws("ingest").max_queue_depth,
        perSecond(stats, previous?.stats, dropped, seconds)]);
      push("chart-latency", gauges.flatMap(name => [stats.latency[name]?.p50_milliseconds ?? 0, stats.latency[name]?.p99_milliseconds ?? 0]));
      const room = s => s?.waiting_rooms?.prioritized;
      push("chart-priorities", priorities.flatMap(p => [
        perSecond(stats, previous?.stats, s => room(s)?.by_criticality[p]?.admitted ?? 0, seconds),
        perSecond(stats, previous?.stats, s => room(s)?.by_criticality[p]?.shed ?? 0, seconds),
      ]));
      push("chart-threshold", [room(stats)?.threshold_rank ?? 0, room(stats)?.waiting ?? 0]);
      const mib = bytes => bytes / (1024 * 1024);
      push("chart-budget", [mib(stats.memory_budget.used_bytes), mib(stats.memory_budget.limit_bytes)]);
      const longest = values => values.reduce((m, v) => Math.max(m, v), 0) / 1000;
      push("chart-blocked", [
        longest(Object.values(stats.web_sockets.endpoints).map(e => e.longest_send_blocked_milliseconds)),
        longest(Object.values(stats.grpc.methods).map(m => m.longest_send_blocked_milliseconds)),
      ]);
      render(alerts);
      previous = { stats, at };
      points++;
      window.dashboard.points = points;
      window.dashboard.latest = stats;
      document.getElementById("status").textContent = `${alerts.firing} alert(s) firing · updated ${new Date().toLocaleTimeString()}`;
    } catch (error) {
      document.getElementById("status").textContent = `cannot reach the server: ${error.message}`;
    }
  }

  window.dashboard = { points: 0, latest: null };
  poll();
  setInterval(poll, pollMs);
})();
