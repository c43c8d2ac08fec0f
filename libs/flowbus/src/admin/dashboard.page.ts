import { createHash } from 'node:crypto';
import { DASHBOARD_SCRIPT } from './dashboard.script.js';
import { DASHBOARD_STYLES } from './dashboard.styles.js';

const BODY = `
<header class="top">
  <div class="brand"><span class="logo" aria-hidden="true"></span><span>Flowbus</span><span class="where" id="where"></span></div>
  <div class="top-actions" id="top-actions" hidden>
    <span class="updated" id="updated" aria-live="polite"></span>
    <label class="switch"><input type="checkbox" id="auto" checked><span>Auto-refresh</span></label>
    <button type="button" class="btn ghost" id="refresh">Refresh</button>
    <button type="button" class="btn ghost" id="signout">Change token</button>
  </div>
</header>
<div class="banner" id="banner" role="alert" hidden></div>
<section class="login" id="login" hidden>
  <form class="card login-card" id="login-form" autocomplete="off">
    <h1>Flowbus admin</h1>
    <p class="muted">Enter the admin token (<code>admin.token</code>, or the bearer token your <code>admin.guard</code> expects). It is kept in this tab's session storage only.</p>
    <label class="field"><span>Admin token</span><input id="token" type="password" autocomplete="current-password" spellcheck="false" placeholder="Paste the token"></label>
    <button class="btn primary" type="submit" id="connect">Connect</button>
  </form>
</section>
<main class="app" id="app" hidden>
  <section class="tiles" id="tiles" aria-label="Statistics"></section>
  <section class="stalled card" id="stalled" aria-label="Why is delivery stalled?" hidden></section>
  <section class="charts" id="charts" aria-label="Throughput and backlog, last hour"></section>
  <nav class="tabs" role="tablist">
    <button type="button" role="tab" data-tab="outbox">Outbox <span class="count" data-count="outbox"></span></button>
    <button type="button" role="tab" data-tab="dead-letters">Dead letters <span class="count" data-count="dead-letters"></span></button>
    <button type="button" role="tab" data-tab="sagas">Sagas <span class="count" data-count="sagas"></span></button>
    <button type="button" role="tab" data-tab="breakers">Breakers <span class="count" data-count="breakers"></span></button>
    <button type="button" role="tab" data-tab="subscribers" hidden>Subscribers <span class="count" data-count="subscribers"></span></button>
    <button type="button" role="tab" data-tab="conversation" hidden>Conversation</button>
  </nav>
  <section class="panel" data-panel="outbox" role="tabpanel">
    <form class="filters" data-filters="outbox">
      <label>Status <select name="status"><option value="">Any</option><option value="pending">Pending</option><option value="in-flight">In flight</option><option value="delivered">Delivered</option></select></label>
      <label>Destination <input name="destination" placeholder="any"></label>
      <label>Type <input name="type" placeholder="any"></label>
      <button class="btn" type="submit">Apply</button>
      <button class="btn ghost" type="reset">Clear</button>
    </form>
    <div class="table-wrap" data-list="outbox"></div>
  </section>
  <section class="panel" data-panel="dead-letters" role="tabpanel" hidden>
    <form class="filters" data-filters="dead-letters">
      <label>Destination <input name="destination" placeholder="any"></label>
      <label>Type <input name="type" placeholder="any"></label>
      <button class="btn" type="submit">Apply</button>
      <button class="btn ghost" type="reset">Clear</button>
      <span class="spacer"></span>
      <button class="btn" type="button" id="requeue-matching" disabled title="Set a destination or type filter first">Requeue all matching</button>
    </form>
    <div class="table-wrap" data-list="dead-letters"></div>
  </section>
  <section class="panel" data-panel="sagas" role="tabpanel" hidden>
    <form class="filters" data-filters="sagas">
      <label>Saga <input name="name" placeholder="any"></label>
      <label>Status <select name="status"><option value="">Any</option><option value="running">Running</option><option value="completed">Completed</option><option value="compensating">Compensating</option><option value="compensated">Compensated</option><option value="failed">Failed</option></select></label>
      <button class="btn" type="submit">Apply</button>
      <button class="btn ghost" type="reset">Clear</button>
    </form>
    <div class="table-wrap" data-list="sagas"></div>
  </section>
  <section class="panel" data-panel="breakers" role="tabpanel" hidden>
    <div class="breakers" id="breakers"></div>
  </section>
  <section class="panel" data-panel="subscribers" role="tabpanel" hidden>
    <p class="muted panel-note">Subscribers of the log storage and how far behind they are. One that no deployment reads any more holds retention back until it is retired.</p>
    <div class="table-wrap" id="subscribers"></div>
  </section>
  <section class="panel" data-panel="conversation" role="tabpanel" hidden>
    <div class="card conversation" id="conversation"></div>
  </section>
</main>
<div class="toasts" id="toasts" aria-live="polite"></div>`;

/** The whole dashboard: one page, no external resource. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Flowbus admin</title>
<link rel="icon" href="data:,">
<style>${DASHBOARD_STYLES}</style>
</head>
<body>${BODY}
<script>${DASHBOARD_SCRIPT}</script>
</body>
</html>
`;

function sha256(source: string): string {
  return `'sha256-${createHash('sha256').update(source, 'utf8').digest('base64')}'`;
}

/** Only the page's own inline script and styles run; it talks to its own origin only. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${sha256(DASHBOARD_SCRIPT)}`,
  `style-src ${sha256(DASHBOARD_STYLES)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
