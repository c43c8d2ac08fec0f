import { createHash } from 'node:crypto';

// The landing page: one self-contained HTML document (no CDN, no build step). It only calls the
// demo's own JSON API and renders data with textContent, never as HTML.

const STYLES = `
:root { color-scheme: light dark; --bg:#f6f7f9; --card:#fff; --ink:#1d2330; --muted:#667085; --line:#e4e7ec;
  --accent:#4f46e5; --ok:#12805c; --warn:#b54708; --bad:#c0352b; --run:#2563eb; }
@media (prefers-color-scheme: dark) { :root { --bg:#0f1218; --card:#171b24; --ink:#e6e8ee; --muted:#98a2b3;
  --line:#2a303c; --accent:#818cf8; --ok:#3ccb8f; --warn:#f5a35c; --bad:#f97066; --run:#60a5fa; } }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; background:var(--bg); color:var(--ink); }
header { padding:20px 28px 8px; display:flex; flex-wrap:wrap; align-items:baseline; gap:8px 24px; }
h1 { font-size:20px; margin:0; } h2 { font-size:15px; margin:0 0 10px; }
header nav a { margin-right:14px; }
a { color:var(--accent); }
main { display:grid; grid-template-columns: minmax(320px, 400px) 1fr; gap:16px; padding:8px 28px 28px; }
@media (max-width: 900px) { main { grid-template-columns: 1fr; } }
.card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:16px; margin-bottom:16px; }
.muted { color:var(--muted); }
ol.flow { margin:0; padding-left:18px; } ol.flow li { margin:2px 0; }
code { font:12px ui-monospace,SFMono-Regular,Menlo,monospace; }
label { display:block; margin:0 0 8px; font-size:12px; color:var(--muted); }
input, select { display:block; width:100%; margin-top:3px; padding:7px 9px; border:1px solid var(--line); border-radius:7px;
  background:var(--bg); color:var(--ink); font:inherit; }
.row { display:flex; gap:8px; } .row > * { flex:1; }
button { font:inherit; padding:7px 12px; border-radius:7px; border:1px solid var(--line); background:var(--card); color:var(--ink); cursor:pointer; }
button.primary { background:var(--accent); border-color:var(--accent); color:#fff; }
button:hover { filter:brightness(0.97); }
.switch { display:grid; grid-template-columns: 84px repeat(4, 1fr); gap:6px; align-items:center; margin-bottom:6px; }
.switch button.on { background:var(--ink); color:var(--card); border-color:var(--ink); }
.switch .stat { grid-column: 2 / -1; font-size:12px; color:var(--muted); margin:-2px 0 4px; }
table { width:100%; border-collapse:collapse; }
th, td { text-align:left; padding:7px 8px; border-bottom:1px solid var(--line); white-space:nowrap; }
th { font-size:12px; color:var(--muted); font-weight:600; }
tbody tr { cursor:pointer; } tbody tr:hover, tbody tr.sel { background:color-mix(in srgb, var(--accent) 8%, transparent); }
td.reason { white-space:normal; min-width:200px; color:var(--muted); font-size:12px; } td.items { white-space:normal; min-width:160px; }
.pill { display:inline-block; padding:1px 8px; border-radius:99px; font-size:12px; font-weight:600; color:#fff; background:var(--run); }
.pill.shipped { background:var(--ok); } .pill.cancelled { background:var(--warn); } .pill.failed { background:var(--bad); }
pre { margin:0; max-height:420px; overflow:auto; font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,monospace; }
label.narrow { max-width:90px; } ul.small { font-size:12px; padding-left:18px; margin:10px 0 0; } ul.small li { margin:3px 0; } label.spaced { margin-top:8px; }
#msg { min-height:20px; margin-top:8px; font-size:13px; } #msg.bad { color:var(--bad); } #msg.ok { color:var(--ok); }
`;

const SCRIPT = `
const $ = (s) => document.querySelector(s);
const el = (tag, props = {}, ...kids) => { const e = Object.assign(document.createElement(tag), props); e.append(...kids); return e; };
const money = (c) => '$' + (c / 100).toFixed(2);
const api = async (method, path, body) => {
  const r = await fetch(path, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body && JSON.stringify(body) });
  const data = r.headers.get('content-type')?.includes('json') ? await r.json() : null;
  if (!r.ok) throw new Error(Array.isArray(data?.message) ? data.message.join('; ') : data?.message || r.statusText);
  return data;
};
let selected = null;

async function loadStock() {
  const stock = await api('GET', '/stock');
  const sku = $('#sku'), current = sku.value;
  sku.replaceChildren(...stock.map((s) => el('option', { value: s.sku, textContent: s.sku + ' · ' + money(s.priceCents) + ' · ' + s.available + ' left' })));
  if (current) sku.value = current;
}

async function loadSwitches() {
  const all = await api('GET', '/simulate');
  const box = $('#switches');
  box.replaceChildren(...Object.entries(all).flatMap(([service, s]) => [
    el('div', { className: 'switch' }, el('strong', { textContent: service }),
      ...['ok', 'fail', 'slow', 'down'].map((mode) => el('button', {
        type: 'button', textContent: mode, className: s.mode === mode ? 'on' : '', title: 'Switch ' + service + ' to ' + mode,
        onclick: () => flip(service, mode),
      })),
      el('div', { className: 'stat', textContent: s.calls + ' call(s), ' + s.refused + ' refused while down' + (s.mode === 'slow' ? ', ' + s.delayMs + ' ms delay' : '') })),
  ]));
}

async function flip(service, mode) {
  const delayMs = Number($('#delay').value) || undefined;
  try { await api('POST', '/simulate/' + service, mode === 'slow' ? { mode, delayMs } : { mode }); await loadSwitches(); }
  catch (e) { say(e.message, 'bad'); }
}

async function loadOrders() {
  const orders = await api('GET', '/orders?limit=15');
  $('#orders').replaceChildren(...orders.map((o) => {
    const tr = el('tr', { className: o.id === selected ? 'sel' : '', onclick: () => { selected = o.id; loadDetail(); loadOrders(); } },
      el('td', {}, el('code', { textContent: o.id.slice(0, 8) })),
      el('td', { textContent: o.customer }),
      el('td', { className: 'items', textContent: o.lines.map((l) => l.qty + '× ' + l.sku).join(', ') }),
      el('td', { textContent: money(o.totalCents) }),
      el('td', {}, el('span', { className: 'pill ' + o.status, textContent: o.status })),
      el('td', { className: 'reason', textContent: o.reason || '' }));
    return tr;
  }));
  $('#empty').hidden = orders.length > 0;
}

async function loadDetail() {
  if (!selected) return;
  $('#detail').textContent = JSON.stringify(await api('GET', '/orders/' + selected), null, 2);
  $('#detail-title').textContent = 'Order ' + selected.slice(0, 8);
}

function say(text, kind) { const m = $('#msg'); m.textContent = text; m.className = kind; }

async function place(items) {
  try {
    const o = await api('POST', '/orders', { customer: $('#customer').value, items });
    selected = o.id; say('Order ' + o.id.slice(0, 8) + ' placed (' + money(o.totalCents) + '). Watch it below.', 'ok');
    await Promise.all([loadOrders(), loadDetail()]);
  } catch (e) { say(e.message, 'bad'); }
}

$('#order').addEventListener('submit', (e) => { e.preventDefault(); place([{ sku: $('#sku').value, qty: Number($('#qty').value) }]); });
$('#scarce').addEventListener('click', () => place([{ sku: 'MONITOR-27', qty: 99 }]));
async function tick() {
  try { await Promise.all([loadOrders(), loadSwitches(), loadDetail(), loadStock()]); } catch (e) { say(e.message, 'bad'); }
}
tick(); setInterval(tick, 1500);
`;

const BODY = `
<header>
  <h1>Flowbus demo · order fulfilment</h1>
  <nav><a href="/docs">Swagger UI</a><a href="/flowbus/">Flowbus dashboard</a><a href="/orders">/orders (JSON)</a></nav>
</header>
<main>
  <div>
    <section class="card">
      <h2>Place an order</h2>
      <form id="order">
        <label>Customer <input id="customer" value="ada@example.com" maxlength="100"></label>
        <div class="row"><label>Item <select id="sku"></select></label><label class="narrow">Qty <input id="qty" type="number" min="1" max="100" value="1"></label></div>
        <div class="row"><button class="primary" type="submit">Place order</button><button type="button" id="scarce">Out-of-stock order</button></div>
      </form>
      <div id="msg" aria-live="polite"></div>
    </section>
    <section class="card">
      <h2>Simulated services</h2>
      <div id="switches"></div>
      <label class="spaced">Delay of "slow" (ms) <input id="delay" type="number" min="0" max="20000" value="3000"></label>
      <ul class="muted small">
        <li><b>fail</b>: payment → order failed; inventory or shipping → compensated (stock released, payment refunded)</li>
        <li><b>slow</b>: answers after the delay (payment slower than its timeout → order failed, late charge refunded)</li>
        <li><b>down</b>: no answer, the relay retries with backoff; payment → the payment timeout fails the order;
          shipping (HTTP 503) → its circuit breaker opens, the order ships once it is back</li>
      </ul>
    </section>
    <section class="card">
      <h2>What happens</h2>
      <p class="muted"><code>POST /orders</code> writes the order and an <code>OrderPlaced</code> event in one transaction
        (the transactional outbox). The <code>order-fulfillment</code> saga then drives three simulated services through the outbox:</p>
      <ol class="flow">
        <li><b>payment</b> (durable local handler): <code>ChargePayment</code>, with a payment timeout</li>
        <li><b>inventory</b> (durable local handler): <code>ReserveInventory</code></li>
        <li><b>shipping</b> (HTTP webhook, retries + circuit breaker): <code>ShipOrder</code></li>
      </ol>
      <p class="muted">Watch the messages, sagas and breakers in the <a href="/flowbus/">dashboard</a>
        (sign in with the admin token printed in the console).</p>
    </section>
  </div>
  <div>
    <section class="card">
      <h2>Recent orders</h2>
      <table><thead><tr><th>Order</th><th>Customer</th><th>Items</th><th>Total</th><th>Status</th><th>Reason</th></tr></thead><tbody id="orders"></tbody></table>
      <p class="muted" id="empty">No orders yet: place one.</p>
    </section>
    <section class="card">
      <h2 id="detail-title">Order detail</h2>
      <pre id="detail" class="muted">Click an order to see its saga (status, state, timeouts), payment, stock and shipment.</pre>
    </section>
  </div>
</main>
`;

export const LANDING_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Flowbus demo</title>
<style>${STYLES}</style>
</head>
<body>${BODY}<script>${SCRIPT}</script></body>
</html>`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** Only this page's own script and styles run; it talks to this origin only. */
export const LANDING_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLES)}`,
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
