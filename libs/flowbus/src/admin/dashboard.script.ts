/**
 * Script of the dashboard page, shipped as a string: plain ES2017 for any current browser, no
 * build step. Every value from the API reaches the DOM through `textContent` or attribute
 * setters (the `h()` helper), never through innerHTML (used once, on a constant), so data cannot inject markup.
 * (No template literals inside: this file embeds the script in one.)
 */
export const DASHBOARD_SCRIPT = String.raw`
(function () {
  'use strict';
  var base = location.pathname.replace(/\/+$/, '');
  var TOKEN_KEY = 'flowbus.adminToken';
  var REFRESH_MS = 5000;
  var LISTS = ['outbox', 'dead-letters', 'sagas'];
  var state = {
    token: read(TOKEN_KEY),
    tab: 'outbox',
    filters: { outbox: {}, 'dead-letters': {}, sagas: {} },
    lists: {},
    open: {},
    details: {},
    stats: null,
    conversation: null,
    timer: null,
    loading: false,
    again: false,
    connected: false
  };

  function read(key) { try { return sessionStorage.getItem(key) || ''; } catch (e) { return ''; } }
  function write(key, value) { try { if (value) sessionStorage.setItem(key, value); else sessionStorage.removeItem(key); } catch (e) { /* private mode */ } }
  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  /** Builds an element; strings and numbers become text nodes, never markup. */
  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) return;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = String(v);
      else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    });
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }
  function append(el, child) {
    if (child === undefined || child === null || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(el, c); }); return; }
    el.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }
  // The SVG namespace, as the HTML parser assigns it (a constant string, no data: safe).
  var SVG_NS = (function () { var t = document.createElement('template'); t.innerHTML = '<svg></svg>'; return t.content.firstChild.namespaceURI; })();
  /** An SVG element: the charts are drawn by hand, no library. */
  function svg(tag, attrs) {
    var el = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { if (k === 'text') el.textContent = String(attrs[k]); else el.setAttribute(k, String(attrs[k])); });
    for (var i = 2; i < arguments.length; i++) if (arguments[i]) el.appendChild(arguments[i]);
    return el;
  }

  // ---- API ------------------------------------------------------------------------------
  function api(method, path, body) {
    var headers = { Accept: 'application/json' };
    if (state.token) headers.Authorization = 'Bearer ' + state.token;
    var init = { method: method, headers: headers, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) { headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
    return fetch(base + path, init).then(function (res) {
      if (res.status === 204) return null;
      return res.json().catch(function () { return null; }).then(function (data) {
        if (res.ok) return data;
        var message = data && data.message ? [].concat(data.message).join('; ') : res.status + ' ' + res.statusText;
        var error = new Error(message);
        error.status = res.status;
        throw error;
      });
    }, function () {
      var error = new Error('The admin API cannot be reached. Is the app running?');
      error.status = 0;
      throw error;
    });
  }
  function query(params) {
    var q = new URLSearchParams();
    Object.keys(params).forEach(function (k) { if (params[k] !== undefined && params[k] !== '') q.set(k, params[k]); });
    var s = q.toString();
    return s ? '?' + s : '';
  }

  // ---- formatting -----------------------------------------------------------------------
  function ago(iso) {
    if (!iso) return '';
    var ms = Date.now() - new Date(iso).getTime();
    var future = ms < 0;
    var s = Math.round(Math.abs(ms) / 1000);
    var text = s < 60 ? s + 's' : s < 3600 ? Math.floor(s / 60) + 'm' : s < 86400 ? Math.floor(s / 3600) + 'h' : Math.floor(s / 86400) + 'd';
    if (s < 2) return 'now';
    return future ? 'in ' + text : text + ' ago';
  }
  function duration(ms) {
    if (ms === null || ms === undefined) return '—';
    var s = Math.round(ms / 1000);
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm ' + (s % 60) + 's';
    if (s < 86400) return Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
    return Math.floor(s / 86400) + 'd ' + Math.floor((s % 86400) / 3600) + 'h';
  }
  function time(iso) { return iso ? h('span', { class: 'time', title: new Date(iso).toLocaleString(), text: ago(iso) }) : h('span', { class: 'time', text: '—' }); }
  // Ids are UUIDv7: their head is the time (the same for a minute of rows), their tail random.
  function tailOf(id) { return '\u2026' + String(id).slice(-12); }
  function shortId(id) { return h('span', { class: 'id', title: id, text: tailOf(id) }); }
  function pill(status) { return h('span', { class: 'pill ' + status, text: status }); }
  function json(value) { return h('pre', { text: JSON.stringify(value, null, 2) }); }
  function fmt(n) { return Number(n || 0).toLocaleString(); }
  function meta(pairs) {
    return h('dl', { class: 'meta' }, pairs.filter(function (p) { return p[1] !== undefined && p[1] !== null && p[1] !== ''; }).map(function (p) {
      return [h('dt', { text: p[0] }), h('dd', null, p[1])];
    }));
  }

  // ---- notices --------------------------------------------------------------------------
  function banner(message, kind) {
    var el = $('#banner');
    el.textContent = message || '';
    el.className = 'banner' + (kind ? ' ' + kind : '');
    el.hidden = !message;
  }
  function toast(message, isError) {
    var el = h('div', { class: 'toast' + (isError ? ' error' : ''), role: 'status', text: message });
    $('#toasts').appendChild(el);
    setTimeout(function () { el.remove(); }, isError ? 6000 : 3500);
  }
  function failed(error) {
    if (error.status === 401 || error.status === 403) {
      var hadToken = !!state.token;
      state.token = '';
      write(TOKEN_KEY, '');
      if (error.status === 403) {
        signedOut('The API answered 403 Forbidden: the admin guard refused this request' +
          (hadToken ? ' with this token.' : '. If it expects a bearer token, enter it below.'));
      } else {
        signedOut(hadToken ? 'The API answered 401 Unauthorized: the token is wrong or no longer accepted. Enter it again.' : '');
      }
      return;
    }
    banner(error.message || 'Request failed');
  }

  // ---- views ----------------------------------------------------------------------------
  function signedOut(message) {
    state.connected = false;
    stopTimer();
    $('#app').hidden = true;
    $('#top-actions').hidden = true;
    $('#login').hidden = false;
    banner(message);
    var input = $('#token');
    input.value = '';
    input.focus();
  }
  function connected() {
    if (!state.connected) {
      state.connected = true;
      $('#login').hidden = true;
      $('#app').hidden = false;
      $('#top-actions').hidden = false;
      banner('');
    }
    startTimer();
  }

  function tile(label, value, sub, color, alert) {
    return h('div', { class: 'card tile ' + color + (alert ? ' alert' : '') },
      h('div', { class: 'label', text: label }), h('div', { class: 'value', text: value }), h('div', { class: 'sub', text: sub || '' }));
  }
  function renderStats(s) {
    var open = s.breakers.filter(function (b) { return b.state !== 'closed'; });
    var running = s.sagas.byStatus.running || 0;
    var troubled = (s.sagas.byStatus.failed || 0) + (s.sagas.byStatus.compensating || 0);
    append(clear($('#tiles')), [
      tile('Pending', fmt(s.outbox.pending), s.outbox.byDestination.length + ' destination(s)', 'amber'),
      tile('In flight', fmt(s.outbox.inFlight), 'leased by a relay', 'blue'),
      tile('Delivered', fmt(s.outbox.delivered), 'kept until retention', 'green'),
      tile('Oldest pending', duration(s.outbox.oldestPendingAgeMs), s.outbox.oldestPendingAgeMs === null ? 'nothing waiting' : 'oldest in the queue', 'grey'),
      tile('Dead letters', fmt(s.deadLetters.total), s.deadLetters.total ? 'need attention' : 'none', 'red', s.deadLetters.total > 0),
      tile('Sagas running', fmt(running), troubled ? troubled + ' failed or compensating' : 'none failing', 'purple'),
      tile('Timeouts', fmt(s.sagas.timeoutsPending), 'scheduled', 'grey'),
      tile('Breakers open', fmt(open.length), s.breakers.length + ' breaker(s)', open.length ? 'red' : 'green', open.length > 0)
    ]);
    renderStalled(s.stalled || []);
    setCount('outbox', s.outbox.pending + s.outbox.inFlight, false);
    setCount('dead-letters', s.deadLetters.total, s.deadLetters.total > 0);
    setCount('sagas', running, false);
    setCount('breakers', open.length, open.length > 0);
    renderSubscribers(s.subscribers || []);
  }
  function renderStalled(causes) {
    var el = clear($('#stalled'));
    el.hidden = causes.length === 0;
    if (!causes.length) return;
    append(el, [h('h2', { text: 'Why is delivery stalled?' }), h('ul', null, causes.map(function (c) {
      return h('li', { 'data-cause': c.kind }, h('code', { text: c.kind }), ' ', c.message);
    }))]);
  }

  // ---- charts: throughput and backlog per destination, last hour ---------------------------
  var CHART_W = 320, CHART_H = 90, PAD = 26;
  function line(values, max, cls) {
    var step = values.length > 1 ? (CHART_W - PAD) / (values.length - 1) : 0;
    var pts = values.map(function (v, i) { return (PAD + i * step).toFixed(1) + ',' + (CHART_H - 12 - (max ? v / max : 0) * (CHART_H - 20)).toFixed(1); });
    return svg('polyline', { class: cls, points: pts.join(' ') });
  }
  function chart(title, series, unit) {
    var max = 0;
    series.forEach(function (s) { s.values.forEach(function (v) { if (v > max) max = v; }); });
    var plot = svg('svg', { viewBox: '0 0 ' + CHART_W + ' ' + CHART_H, role: 'img', 'aria-label': title },
      svg('line', { class: 'axis', x1: PAD, y1: CHART_H - 12, x2: CHART_W, y2: CHART_H - 12 }),
      svg('line', { class: 'axis', x1: PAD, y1: 8, x2: PAD, y2: CHART_H - 12 }),
      svg('text', { x: 0, y: 12, text: max < 10 ? +max.toFixed(2) : Math.round(max) }),
      svg('text', { x: 0, y: CHART_H - 12, text: '0' }),
      svg('text', { x: PAD, y: CHART_H - 1, text: '-60m' }),
      svg('text', { x: CHART_W - 22, y: CHART_H - 1, text: 'now' }));
    series.forEach(function (s) { plot.appendChild(line(s.values, max, s.cls)); });
    return h('div', null, h('div', { class: 'legend' }, h('span', { text: title + ' (' + unit + ')' }), series.map(function (s) { return h('span', null, h('i', { class: s.cls }), s.name); })), plot);
  }
  function renderCharts(history) {
    var wrap = clear($('#charts'));
    var secs = history.bucketSeconds;
    history.destinations.forEach(function (d) {
      var perSecond = function (k) { return d.points.map(function (p) { return p[k] / secs; }); };
      var last = d.points[d.points.length - 1] || { backlog: 0 };
      wrap.appendChild(h('div', { class: 'card chart', 'data-chart': d.destination },
        h('h3', null, h('span', { text: d.destination }), h('span', { class: 'muted', text: 'backlog ' + fmt(last.backlog) })),
        chart('Throughput', [{ name: 'delivered', cls: 'delivered', values: perSecond('delivered') }, { name: 'failed', cls: 'failed', values: perSecond('failed') }], 'per second'),
        chart('Backlog', [{ name: 'undelivered', cls: 'backlog', values: d.points.map(function (p) { return p.backlog; }) }], 'messages')));
    });
  }

  // ---- conversation: the tree of messages a message caused, and saga timelines ------------
  function showConversation(correlationId) {
    state.conversation = { id: correlationId, data: null };
    $('[data-tab="conversation"]').hidden = false;
    selectTab('conversation', true);
  }
  function loadConversation() {
    var c = state.conversation;
    if (!c) return Promise.resolve();
    return api('GET', '/conversations/' + encodeURIComponent(c.id)).then(function (data) { c.data = data; renderConversation(); }, function (e) {
      if (e.status === 401 || e.status === 403) throw e;
      c.data = { error: e.message };
      renderConversation();
    });
  }
  function nodeOf(m) {
    var step = m.subscriber && m.subscriber.slice(0, 5) === 'saga:';
    return h('span', { class: 'node' + (step ? ' step' : ''), 'data-type': m.type },
      h('span', { class: 'type', text: m.type }), h('span', { class: 'muted', text: '→ ' + m.destination + (m.subscriber ? ' / ' + m.subscriber : '') }),
      pill(m.status), m.attempts ? h('span', { class: 'muted', text: m.attempts + ' failed attempt(s)' }) : '',
      h('span', { class: 'muted', title: m.createdAt, text: new Date(m.createdAt).toLocaleTimeString() }),
      m.finishedAt ? h('span', { class: 'muted', text: '+' + Math.max(0, new Date(m.finishedAt) - new Date(m.createdAt)) + ' ms' }) : '',
      m.lastError ? h('span', { class: 'error-text', title: m.lastError, text: m.lastError }) : '');
  }
  function renderConversation() {
    var el = clear($('#conversation'));
    var c = state.conversation;
    if (!c || !c.data) { el.appendChild(h('div', { class: 'muted', text: 'Loading…' })); return; }
    if (c.data.error) { el.appendChild(h('div', { class: 'error-text', text: c.data.error })); return; }
    var messages = c.data.messages;
    var ids = {};
    messages.forEach(function (m) { ids[m.id] = true; });
    var children = {};
    var roots = [];
    messages.forEach(function (m) {
      if (m.causationId && ids[m.causationId]) (children[m.causationId] = children[m.causationId] || []).push(m);
      else roots.push(m);
    });
    var branch = function (list) {
      return h('ul', null, list.map(function (m) { return h('li', { 'data-id': m.id }, nodeOf(m), children[m.id] ? branch(children[m.id]) : ''); }));
    };
    var tree = branch(roots);
    tree.className = 'tree';
    append(el, [h('h2', null, 'Conversation ', h('span', { class: 'mono', text: c.id })),
      c.data.sagas.length ? h('p', { class: 'muted', text: 'Sagas: ' + c.data.sagas.join(', ') }) : '',
      tree, c.data.truncated ? h('p', { class: 'muted', text: 'Only the first 500 messages are shown.' }) : '']);
  }
  function timeline(messages) {
    if (!messages || !messages.length) return h('div', { class: 'muted', text: 'No message recorded.' });
    return h('ol', { class: 'timeline' }, messages.map(function (m) {
      return h('li', null, h('span', { class: 'muted', title: m.createdAt, text: new Date(m.createdAt).toLocaleTimeString() }),
        h('strong', { text: m.type }), h('span', { class: 'muted', text: m.subscriber && m.subscriber.slice(0, 5) === 'saga:' ? 'received' : 'sent to ' + m.destination }), pill(m.status));
    }));
  }

  function setCount(tab, n, alert) {
    var el = $('[data-count="' + tab + '"]');
    el.textContent = fmt(n);
    el.className = 'count' + (alert ? ' alert' : '');
  }

  var COLUMNS = {
    outbox: ['', 'Id', 'Type', 'Destination', 'Status', 'Attempts', 'Last error', 'Created', 'Next attempt', ''],
    'dead-letters': ['', 'Id', 'Type', 'Destination', 'Attempts', 'Last error', 'Failed', ''],
    sagas: ['', 'Saga', 'Correlation id', 'Status', 'Version', 'Updated', 'Started']
  };
  var EMPTY = {
    outbox: ['The outbox is empty', 'Messages written with OutboxService appear here until retention removes them.'],
    'dead-letters': ['No dead letters', 'Every message was delivered or is still being retried.'],
    sagas: ['No saga instances', 'Instances appear when a saga\'s start step runs.']
  };
  function keyOf(list, item) { return list === 'sagas' ? item.name + '\u0000' + item.correlationId : item.id; }

  function renderList(list) {
    var page = state.lists[list];
    var wrap = clear($('[data-list="' + list + '"]'));
    if (!page) return;
    if (page.items.length === 0) {
      var filtered = Object.keys(state.filters[list]).some(function (k) { return state.filters[list][k]; });
      wrap.appendChild(h('div', { class: 'empty' }, h('strong', { text: filtered ? 'Nothing matches these filters' : EMPTY[list][0] }), filtered ? 'Clear the filters to see everything.' : EMPTY[list][1]));
      return;
    }
    var body = h('tbody');
    page.items.forEach(function (item) {
      var key = keyOf(list, item);
      var isOpen = !!state.open[list + ':' + key];
      var row = h('tr', { class: 'row' + (isOpen ? ' open' : ''), 'data-id': list === 'sagas' ? item.correlationId : item.id, onclick: function (e) {
        if (e.target.closest('button')) return;
        toggle(list, item);
      } }, cells(list, item));
      body.appendChild(row);
      if (isOpen) body.appendChild(h('tr', { class: 'detail' }, h('td', { colspan: COLUMNS[list].length }, detail(list, item))));
    });
    wrap.appendChild(h('table', null, h('thead', null, h('tr', null, COLUMNS[list].map(function (c) { return h('th', { text: c }); }))), body));
    if (page.nextCursor) wrap.appendChild(h('div', { class: 'more' }, h('button', { type: 'button', class: 'btn', text: 'Load more', onclick: function () { loadMore(list); } })));
  }

  function cells(list, m) {
    var caret = h('td', null, h('span', { class: 'caret', text: '\u25B8' }));
    if (list === 'outbox') return [caret, h('td', null, shortId(m.id)), h('td', { text: m.type }), h('td', { text: m.destination }), h('td', null, pill(m.status)),
      h('td', { class: 'num', text: m.attempts }), h('td', null, m.lastError ? h('div', { class: 'error-text', title: m.lastError, text: m.lastError }) : ''),
      h('td', null, time(m.createdAt)), h('td', null, m.status === 'delivered' ? time(m.deliveredAt) : time(m.nextAttemptAt)),
      h('td', { class: 'actions' }, m.status === 'pending' ? h('button', { type: 'button', class: 'btn small', 'data-action': 'retry', text: 'Retry now', onclick: function () { act('POST', '/outbox/' + m.id + '/retry', 'Retry scheduled for ' + tailOf(m.id)); } }) : '')];
    if (list === 'dead-letters') return [caret, h('td', null, shortId(m.id)), h('td', { text: m.type }), h('td', { text: m.destination }),
      h('td', { class: 'num', text: m.attempts }), h('td', null, m.lastError ? h('div', { class: 'error-text', title: m.lastError, text: m.lastError }) : ''),
      h('td', null, time(m.failedAt)),
      h('td', { class: 'actions' },
        h('button', { type: 'button', class: 'btn small', 'data-action': 'requeue', text: 'Requeue', onclick: function () { act('POST', '/dead-letters/' + m.id + '/requeue', 'Requeued ' + tailOf(m.id)); } }),
        h('button', { type: 'button', class: 'btn small danger', 'data-action': 'delete', text: 'Delete', onclick: function () {
          if (confirm('Delete dead letter ' + m.id + ' for good?')) act('DELETE', '/dead-letters/' + m.id, 'Deleted ' + tailOf(m.id));
        } }))];
    return [caret, h('td', { text: m.name }), h('td', { class: 'mono', text: m.correlationId }), h('td', null, pill(m.status)), h('td', { class: 'num', text: m.version }),
      h('td', null, time(m.updatedAt)), h('td', null, time(m.createdAt))];
  }

  function detail(list, item) {
    var d = state.details[list + ':' + keyOf(list, item)];
    if (!d) return h('div', { class: 'muted', text: 'Loading…' });
    if (d.error) return h('div', { class: 'error-text', text: d.error });
    if (list === 'sagas') return h('div', { class: 'detail-grid' },
      h('div', null, h('h3', { text: 'State' }), json(d.state), d.reason ? [h('h3', { text: 'Reason' }), h('div', { text: d.reason })] : ''),
      h('div', null, h('h3', { text: 'Timeouts' }), d.timeouts.length ? h('ol', { class: 'history' }, d.timeouts.map(function (t) {
        return h('li', { class: 'marker' }, h('div', { class: 'head' }, h('strong', { text: t.type }), h('span', { title: t.dueAt, text: 'due ' + ago(t.dueAt) })), t.payload && Object.keys(t.payload).length ? json(t.payload) : '');
      })) : h('div', { class: 'muted', text: 'No timeout scheduled.' }),
        h('h3', { text: 'Compensations recorded' }), d.compensations.length ? json(d.compensations) : h('div', { class: 'muted', text: 'None.' })),
      h('div', null, h('h3', { text: 'Instance' }), meta([['Id', d.id], ['Finished', d.finishedAt ? new Date(d.finishedAt).toLocaleString() : 'not yet']]),
        h('h3', { text: 'Timeline' }), timeline(d.timeline)));
    return h('div', { class: 'detail-grid' },
      h('div', null, h('h3', { text: 'Payload' }), json(d.payload), Object.keys(d.headers || {}).length ? [h('h3', { text: 'Headers' }), json(d.headers)] : ''),
      h('div', null, h('h3', { text: 'Error history' }), history(d.errors)),
      h('div', null, h('h3', { text: 'Message' }), meta([['Id', h('span', { class: 'mono', text: d.id })], ['Key', d.key], ['Subscriber', d.subscriber],
        ['Correlation', d.correlationId ? h('span', { class: 'mono', text: d.correlationId }) : ''], ['Caused by', d.causationId ? h('span', { class: 'mono', text: d.causationId }) : ''],
        ['Created', new Date(d.createdAt).toLocaleString()], ['Lease owner', d.lockOwner]]),
        d.correlationId ? h('button', { type: 'button', class: 'btn small', 'data-action': 'conversation', text: 'Show conversation', onclick: function () { showConversation(d.correlationId); } }) : ''));
  }
  function history(errors) {
    if (!errors || errors.length === 0) return h('div', { class: 'muted', text: 'No failed attempt.' });
    return h('ol', { class: 'history' }, errors.slice().reverse().map(function (e) {
      return h('li', { class: e.attempt === 0 ? 'marker' : '' },
        h('div', { class: 'head' }, h('strong', { text: e.attempt === 0 ? 'Requeued' : 'Attempt ' + e.attempt }), h('span', { title: e.at, text: e.at ? new Date(e.at).toLocaleString() : '' }), e.code ? h('code', { text: e.code }) : ''),
        h('div', { class: 'msg', text: (e.name && e.attempt !== 0 ? e.name + ': ' : '') + e.message }),
        e.stack ? h('details', null, h('summary', { text: 'Stack' }), h('pre', { text: e.stack })) : '');
    }));
  }

  function renderBreakers(list) {
    var wrap = clear($('#breakers'));
    if (list.length === 0) {
      wrap.appendChild(h('div', { class: 'card empty' }, h('strong', { text: 'No circuit breakers' }), 'Breakers appear for configured destinations once the relay runs in this instance.'));
      return;
    }
    list.forEach(function (b) {
      wrap.appendChild(h('div', { class: 'card breaker' }, h('div', { class: 'name' }, h('span', { text: b.destination }), pill(b.state)),
        meta([['Fires', fmt(b.stats.fires)], ['Successes', fmt(b.stats.successes)], ['Failures', fmt(b.stats.failures)], ['Rejected', fmt(b.stats.rejects)], ['Timeouts', fmt(b.stats.timeouts)]])));
    });
  }

  // ---- log subscribers: lag, retention, retire ------------------------------------------
  function renderSubscribers(list) {
    var blocking = list.filter(function (s) { return s.blocksRetention; }).length;
    // The table storage has no cursors: no tab there (nor on the log before any subscriber),
    // unless it is open (after retiring the last one it shows its empty state).
    $('[data-tab="subscribers"]').hidden = list.length === 0 && state.tab !== 'subscribers';
    setCount('subscribers', list.length, blocking > 0);
    var wrap = clear($('#subscribers'));
    if (list.length === 0) {
      wrap.appendChild(h('div', { class: 'empty' }, h('strong', { text: 'No log subscribers' }), 'Cursors of the log storage (relay.storage \'log\') appear here once a relay registers them.'));
      return;
    }
    var body = h('tbody', null, list.map(function (s) {
      return h('tr', { 'data-subscriber': s.subscriber, class: s.blocksRetention ? 'blocking' : '' },
        h('td', { class: 'mono', text: s.subscriber }),
        h('td', { class: 'num', text: fmt(s.behindSeq) }),
        h('td', { class: 'num', text: duration(s.lagSeconds * 1000) }),
        h('td', null, s.blocksRetention ? h('span', { class: 'pill blocks', title: 'A log generation due to be emptied is kept until this subscriber reads it or is retired', text: 'blocks retention' }) : h('span', { class: 'muted', text: 'no' })),
        h('td', { class: 'actions' }, h('button', { type: 'button', class: 'btn small danger', 'data-action': 'retire', text: 'Retire', onclick: function () { retire(s.subscriber); } })));
    }));
    wrap.appendChild(h('table', null, h('thead', null, h('tr', null, ['Subscriber', 'Rows behind', 'Lag', 'Blocks retention', ''].map(function (c) { return h('th', { text: c }); }))), body));
  }
  function retire(name) {
    if (!confirm('Retire subscriber ' + name + '? Its cursors are deleted and it stops holding retention back. ' +
      'Only for a subscriber no deployment has any more: an instance that still has it registers it again and misses what was written meanwhile.')) return;
    $all('[data-action]').forEach(function (b) { b.disabled = true; });
    api('DELETE', '/subscribers/' + encodeURIComponent(name)).then(function () { toast('Retired ' + name); }, function (e) {
      // Only a 401 means the token: a 403 here is the database role or a guard refusing this
      // route alone (the page could read the stats), so its message is shown, as 404 and 409 are.
      if (e.status === 401) return failed(e);
      toast(e.message, true);
    }).then(function () { if (state.connected) refresh(); });
  }

  // ---- data flow ------------------------------------------------------------------------
  function path(list, extra) {
    return '/' + list + query(Object.assign({}, state.filters[list], extra));
  }
  function loadList(list) {
    var loaded = state.lists[list] ? state.lists[list].items.length : 0;
    // Keep what "Load more" fetched: refresh as many rows as are shown (up to the API's cap).
    var limit = Math.min(500, Math.max(50, loaded));
    return api('GET', path(list, { limit: limit })).then(function (page) { state.lists[list] = page; renderList(list); });
  }
  function loadMore(list) {
    var page = state.lists[list];
    api('GET', path(list, { limit: 50, cursor: page.nextCursor })).then(function (next) {
      page.items = page.items.concat(next.items);
      page.nextCursor = next.nextCursor;
      renderList(list);
    }).catch(failed);
  }
  function loadCurrent() {
    if (state.tab === 'breakers') return api('GET', '/breakers').then(renderBreakers);
    // Rendered from the stats every refresh fetches.
    if (state.tab === 'subscribers') return Promise.resolve();
    if (state.tab === 'conversation') return loadConversation();
    return loadList(state.tab);
  }
  function refresh() {
    // One refresh at a time; one asked for meanwhile runs right after (fresh data after an action).
    if (state.loading) { state.again = true; return; }
    state.loading = true;
    Promise.all([api('GET', '/stats').then(function (s) { state.stats = s; renderStats(s); }), api('GET', '/history').then(renderCharts), loadCurrent()]).then(function () {
      connected();
      banner('');
      $('#updated').textContent = 'Updated ' + new Date().toLocaleTimeString();
    }).catch(failed).then(function () {
      state.loading = false;
      if (state.again) { state.again = false; refresh(); }
    });
  }
  function toggle(list, item) {
    var key = list + ':' + keyOf(list, item);
    if (state.open[key]) { delete state.open[key]; renderList(list); return; }
    state.open[key] = true;
    renderList(list);
    var url = list === 'sagas' ? '/sagas/' + encodeURIComponent(item.name) + '/' + encodeURIComponent(item.correlationId) : '/' + list + '/' + item.id;
    var load = api('GET', url);
    if (list === 'sagas') load = Promise.all([load, api('GET', url + '/timeline')]).then(function (r) { r[0].timeline = r[1].messages; return r[0]; });
    load.then(function (d) { state.details[key] = d; }, function (e) {
      if (e.status === 401 || e.status === 403) return failed(e);
      state.details[key] = { error: e.status === 404 ? 'It is gone (delivered, requeued or deleted meanwhile).' : e.message };
    }).then(function () { renderList(list); });
  }
  function act(method, url, done) {
    $all('[data-action]').forEach(function (b) { b.disabled = true; });
    api(method, url).then(function () { toast(done); }, function (e) {
      if (e.status === 401 || e.status === 403) return failed(e);
      toast(e.message, true);
    }).then(function () { if (state.connected) refresh(); });
  }

  function startTimer() {
    stopTimer();
    if ($('#auto').checked) state.timer = setInterval(refresh, REFRESH_MS);
  }
  function stopTimer() { if (state.timer) clearInterval(state.timer); state.timer = null; }

  function selectTab(tab, load) {
    state.tab = tab;
    $all('[role=tab]').forEach(function (b) { b.setAttribute('aria-selected', String(b.getAttribute('data-tab') === tab)); });
    $all('[data-panel]').forEach(function (p) { p.hidden = p.getAttribute('data-panel') !== tab; });
    if (load) loadCurrent().catch(failed);
  }

  // ---- wiring ---------------------------------------------------------------------------
  $('#where').textContent = base || '/';
  $('#login-form').addEventListener('submit', function (e) {
    e.preventDefault();
    state.token = $('#token').value.trim();
    write(TOKEN_KEY, state.token);
    banner('');
    refresh();
  });
  $('#signout').addEventListener('click', function () { state.token = ''; write(TOKEN_KEY, ''); signedOut(''); });
  $('#refresh').addEventListener('click', function () { refresh(); });
  $('#auto').addEventListener('change', function () { if (state.connected) startTimer(); });
  $all('[role=tab]').forEach(function (b) { b.addEventListener('click', function () { selectTab(b.getAttribute('data-tab'), true); }); });
  LISTS.forEach(function (list) {
    var form = $('[data-filters="' + list + '"]');
    var apply = function () {
      var f = {};
      $all('input, select', form).forEach(function (el) { if (el.name && el.value.trim()) f[el.name] = el.value.trim(); });
      state.filters[list] = f;
      state.lists[list] = null;
      if (list === 'dead-letters') $('#requeue-matching').disabled = !(f.destination || f.type);
      loadList(list).catch(failed);
    };
    form.addEventListener('submit', function (e) { e.preventDefault(); apply(); });
    form.addEventListener('reset', function () { setTimeout(apply, 0); });
    $all('select', form).forEach(function (s) { s.addEventListener('change', apply); });
  });
  $('#requeue-matching').addEventListener('click', function () {
    var f = state.filters['dead-letters'];
    if (!f.destination && !f.type) return;
    var what = [f.destination ? 'destination "' + f.destination + '"' : '', f.type ? 'type "' + f.type + '"' : ''].filter(Boolean).join(' and ');
    if (!confirm('Requeue the dead letters of ' + what + ' (up to 500)?')) return;
    api('POST', '/dead-letters/requeue', f).then(function (r) {
      toast('Requeued ' + r.requeued + ' message(s)' + (r.more ? '; more match, run it again' : ''));
    }, function (e) { if (e.status === 401 || e.status === 403) return failed(e); toast(e.message, true); }).then(function () { if (state.connected) refresh(); });
  });
  document.addEventListener('visibilitychange', function () { if (!document.hidden && state.connected) refresh(); });

  selectTab('outbox', false);
  refresh();
})();
`;
