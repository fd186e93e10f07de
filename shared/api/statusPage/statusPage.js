// The status page's script: plain browser JavaScript, inlined into the page with its hash in the
// Content-Security-Policy. It calls the same API as any client, with the key or token its user types in (kept in this
// tab's sessionStorage, never in a URL), and builds every element with textContent: nothing from the API is parsed
// as HTML.
(function statusPage() {
  'use strict';

  const STATUSES = ['Pending', 'Running', 'Completed', 'Failed', 'Canceled', 'Detaching', 'Detached'];
  const REFRESH_IN_MS = 5000;
  const PAGE_SIZE = 50;
  const PARALLEL_READS = 4;
  const STORE = { key: 'sdnAttach.functionKey', token: 'sdnAttach.bearerToken', tenants: 'sdnAttach.tenants' };
  // The API root is the page's folder: /api/ui -> /api.
  const API = window.location.pathname.replace(/\/ui\/?$/, '');

  const byId = (id) => document.getElementById(id);
  const documents = new Map(); // `${tenant}/${id}` -> { lastUpdatedTime, body }
  let selected = null; // { tenantId, id }
  let timer = null;
  let generation = 0;

  /** An element whose children are nodes or text; attribute values are plain strings, never parsed as markup. */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (name === 'className') node.className = value;
      else if (name === 'dataset') Object.assign(node.dataset, value);
      else if (name === 'onclick') node.addEventListener('click', value);
      else node.setAttribute(name, String(value));
    }
    node.append(...nodes(children));
    return node;
  }

  /** Children as DOM nodes: nested lists flattened, absent ones (null, undefined, false) dropped, the rest text. */
  function nodes(children) {
    return children
      .flat(Infinity)
      .filter((child) => child !== null && child !== undefined && child !== false)
      .map((child) => (child instanceof Node ? child : document.createTextNode(String(child))));
  }

  // Runtime and step statuses the stylesheet colours; anything else gets no class.
  const STYLED = new Set([...STATUSES, 'Succeeded']);
  const statusClass = (status) => (STYLED.has(status) ? `s-${status}` : '');
  const badge = (status) => el('span', { className: `badge ${statusClass(status)}` }, status);
  const time = (iso) => (iso ? new Date(iso).toLocaleString() : '—');

  function credentials() {
    return {
      key: sessionStorage.getItem(STORE.key) || '',
      token: sessionStorage.getItem(STORE.token) || '',
      tenants: (sessionStorage.getItem(STORE.tenants) || '')
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    };
  }

  class ApiError extends Error {
    constructor(status, body) {
      const error = (body && body.error) || {};
      super(`${status} ${error.code || ''}: ${error.message || 'no message'}`);
      this.status = status;
      this.code = error.code;
    }
  }

  async function api(path) {
    const { key, token } = credentials();
    const headers = { Accept: 'application/json' };
    if (key) headers['x-functions-key'] = key;
    if (token) headers.Authorization = `Bearer ${token}`;
    // same-origin credentials: a browser signed in through App Service Authentication sends its session cookie.
    const response = await fetch(API + path, { headers, credentials: 'same-origin', cache: 'no-store' });
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }

  const segment = (tenantId, id) => `${encodeURIComponent(tenantId)}/attachments/${encodeURIComponent(id)}`;

  /** Runs `work` over `items`, a few at a time. */
  async function inParallel(items, work) {
    const queue = [...items];
    const workers = Array.from({ length: Math.min(PARALLEL_READS, queue.length) }, async () => {
      while (queue.length > 0) await work(queue.shift());
    });
    await Promise.all(workers);
  }

  function chosenStatuses() {
    return STATUSES.filter((s) => byId(`filter-${s}`).checked);
  }

  function notice(text, isError) {
    const node = byId('notice');
    node.hidden = !text;
    node.className = isError ? 'notice error' : 'notice';
    node.textContent = text || '';
  }

  async function tenantIds() {
    const given = credentials().tenants;
    if (given.length > 0) return { ids: given };
    try {
      const page = await api(`/admin/tenants?top=100`);
      return { ids: page.value.map((t) => t.tenantId), more: page.nextLink !== null };
    } catch (error) {
      if (error instanceof ApiError && (error.status === 403 || error.status === 401)) {
        return {
          ids: [],
          problem:
            error.status === 401
              ? `Not signed in (${error.message}). Give a bearer token, or sign in to the app.`
              : `Only the operator may list tenants (${error.message}). Name yours under Tenants.`,
        };
      }
      throw error;
    }
  }

  /** The attachment's status document, read again only when its summary says it changed. */
  async function statusDocument(summary) {
    const key = `${summary.tenantId}/${summary.id}`;
    const known = documents.get(key);
    if (known && known.lastUpdatedTime === summary.lastUpdatedTime) return known.body;
    const body = await api(`/tenants/${segment(summary.tenantId, summary.id)}`);
    documents.set(key, { lastUpdatedTime: summary.lastUpdatedTime, body });
    return body;
  }

  function strip(doc) {
    const steps = [...(doc.steps || [])];
    const parts = steps.map((step) => stepSegment(step));
    if (doc.detachSteps) parts.push(el('span', { className: 'strip-gap' }), ...doc.detachSteps.map(stepSegment));
    const label = steps.map((s) => `${s.order}. ${s.name}: ${s.status}`).join('; ');
    return el('div', { className: 'strip', role: 'img', 'aria-label': label }, parts);
  }

  function stepSegment(step) {
    const title = `${step.order}. ${step.title}: ${step.status}, ${step.attempts} attempt(s)`;
    return el('span', { className: `segment ${statusClass(step.status)}`, title, dataset: { step: step.name } });
  }

  function attachmentRow(doc) {
    const open = () => {
      selected = { tenantId: doc.tenantId, id: doc.id };
      void refresh();
    };
    const isSelected = selected && selected.tenantId === doc.tenantId && selected.id === doc.id;
    return el(
      'tr',
      {
        className: `attachment${isSelected ? ' selected' : ''}`,
        dataset: { tenant: doc.tenantId, attachment: doc.id },
        onclick: open,
      },
      el('td', {}, el('button', { type: 'button', className: 'link' }, doc.id)),
      el('td', {}, badge(doc.runtimeStatus)),
      el('td', {}, strip(doc)),
      el('td', { className: 'mono' }, doc.currentStep || '—'),
      el('td', { className: 'mono' }, doc.lastError ? doc.lastError.code : ''),
      el('td', {}, time(doc.lastUpdatedTime)),
    );
  }

  function tenantSection(tenantId, docs, problem, more) {
    const count = el('span', { className: 'tenant-meta' }, `${docs.length}${more ? '+' : ''} attachment(s)`);
    let body;
    if (problem) body = el('p', { className: 'empty' }, problem);
    else if (docs.length === 0) body = el('p', { className: 'empty' }, 'No attachments with these statuses.');
    else {
      const headings = ['Attachment', 'Status', 'Steps', 'Current step', 'Last error', 'Updated'];
      body = el(
        'table',
        {},
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            headings.map((h) => el('th', {}, h)),
          ),
        ),
        el('tbody', {}, docs.map(attachmentRow)),
      );
    }
    return el('section', { className: 'tenant', dataset: { tenant: tenantId } }, el('h2', {}, tenantId, count), body);
  }

  function errorBox(error) {
    if (!error) return null;
    return el(
      'div',
      { className: 'error-box' },
      el(
        'div',
        {},
        el('span', { className: 'code' }, error.code),
        ` from ${error.source}`,
        error.retryable ? ' (retryable)' : '',
      ),
      el('div', { className: 'message' }, error.message),
      error.target ? el('div', { className: 'mono' }, `target: ${error.target}`) : null,
      (error.details || []).map((d) =>
        el('div', { className: 'mono' }, `${d.code}${d.target ? ` (${d.target})` : ''}: ${d.message}`),
      ),
    );
  }

  function facts(pairs) {
    return el(
      'dl',
      { className: 'facts' },
      pairs.filter(([, v]) => v !== undefined).flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]),
    );
  }

  function valueText(value) {
    return typeof value === 'string' ? value : JSON.stringify(value);
  }

  function stepsTable(steps) {
    return el(
      'table',
      { className: 'steps' },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ['#', 'Step', 'Status', 'Attempts', 'Started', 'Ended'].map((h) => el('th', {}, h)),
        ),
      ),
      el(
        'tbody',
        {},
        steps.map((step) => [
          el(
            'tr',
            { dataset: { step: step.name } },
            el('td', {}, step.order),
            el('td', {}, step.title, el('div', { className: 'mono' }, step.name)),
            el('td', {}, badge(step.status)),
            el('td', {}, step.attempts),
            el('td', {}, time(step.startedTime)),
            el('td', {}, time(step.endedTime)),
          ),
          step.detail || step.lastError
            ? el(
                'tr',
                { className: 'step-detail' },
                el(
                  'td',
                  { colspan: 6 },
                  errorBox(step.lastError),
                  step.detail
                    ? facts(
                        Object.entries(step.detail).map(([k, v]) => [
                          k,
                          el('span', { className: 'mono' }, valueText(v)),
                        ]),
                      )
                    : null,
                ),
              )
            : null,
        ]),
      ),
    );
  }

  function historyTable(history) {
    return el(
      'table',
      { className: 'history' },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ['Time', 'Event', 'Step', 'Attempt', 'Message'].map((h) => el('th', {}, h)),
        ),
      ),
      el(
        'tbody',
        {},
        history.map((event) =>
          el(
            'tr',
            {},
            el('td', {}, time(event.time)),
            el('td', {}, event.type),
            el('td', { className: 'mono' }, event.step || ''),
            el('td', {}, event.attempt === undefined ? '' : event.attempt),
            el('td', {}, event.message || '', event.error ? errorBox(event.error) : null),
          ),
        ),
      ),
    );
  }

  function renderDetail(doc) {
    const aside = byId('detail');
    if (!doc) {
      aside.hidden = true;
      aside.replaceChildren();
      return;
    }
    aside.hidden = false;
    const closeDetail = () => {
      selected = null;
      renderDetail(null);
      void refresh();
    };
    const close = el('button', { type: 'button', onclick: closeDetail }, 'Close');
    aside.replaceChildren(
      ...nodes([
        el('div', { className: 'detail-head' }, el('h2', {}, `${doc.tenantId} / ${doc.id}`), close),
        facts([
          ['Status', badge(doc.runtimeStatus)],
          ['Current step', doc.currentStep || '—'],
          ['Created', time(doc.createdTime)],
          ['Updated', time(doc.lastUpdatedTime)],
          [
            'Network',
            doc.request && doc.request.network
              ? `${doc.request.network.name} (${doc.request.network.driver})`
              : undefined,
          ],
        ]),
        doc.lastError ? [el('h3', {}, 'Last error'), errorBox(doc.lastError)] : null,
        el('h3', {}, 'Steps'),
        stepsTable(doc.steps || []),
        doc.detachSteps ? [el('h3', {}, 'Detach steps'), stepsTable(doc.detachSteps)] : null,
        el('h3', {}, 'Result'),
        el('pre', { className: 'mono' }, JSON.stringify(doc.result || {}, null, 2)),
        el('h3', {}, 'History'),
        historyTable(doc.history || []),
      ]),
    );
  }

  async function refresh() {
    const mine = ++generation;
    clearTimeout(timer);
    try {
      const statuses = chosenStatuses();
      const filter =
        statuses.length > 0 && statuses.length < STATUSES.length ? `&runtimeStatus=${statuses.join(',')}` : '';
      const tenants = await tenantIds();
      const sections = [];
      for (const tenantId of tenants.ids) {
        try {
          const page = await api(`/tenants/${encodeURIComponent(tenantId)}/attachments?top=${PAGE_SIZE}${filter}`);
          const docs = [];
          await inParallel(page.value, async (summary) => docs.push(await statusDocument(summary)));
          docs.sort((a, b) => b.createdTime.localeCompare(a.createdTime));
          sections.push(tenantSection(tenantId, docs, null, page.nextLink !== null));
        } catch (error) {
          sections.push(tenantSection(tenantId, [], error.message));
        }
      }
      let detail = null;
      let detailProblem = '';
      if (selected) {
        const { tenantId, id } = selected;
        detail = await api(`/tenants/${segment(tenantId, id)}?showHistory=true`).catch((error) => {
          detailProblem = `${tenantId}/${id}: ${error.message}`;
          return null;
        });
      }
      if (mine !== generation) return;
      byId('tenants-view').replaceChildren(...sections);
      // A detail that could not be read again stays as last shown, under the notice saying why.
      if (detail && selected) renderDetail(detail);
      notice(detailProblem || tenants.problem || '', detailProblem !== '');
      byId('refreshed').textContent = `Refreshed ${new Date().toLocaleTimeString()}`;
    } catch (error) {
      if (mine === generation) notice(`Cannot read the API: ${error.message}`, true);
    } finally {
      if (mine === generation) timer = setTimeout(() => void refresh(), REFRESH_IN_MS);
    }
  }

  function start() {
    const filters = byId('filters');
    for (const status of STATUSES) {
      const box = el('input', { type: 'checkbox', id: `filter-${status}` });
      box.addEventListener('change', () => void refresh());
      filters.append(el('label', {}, box, ` ${status}`));
    }
    const { key, token, tenants } = credentials();
    byId('key').value = key;
    byId('token').value = token;
    byId('tenants').value = tenants.join(', ');
    byId('access').addEventListener('submit', (event) => {
      event.preventDefault();
      sessionStorage.setItem(STORE.key, byId('key').value.trim());
      sessionStorage.setItem(STORE.token, byId('token').value.trim());
      sessionStorage.setItem(STORE.tenants, byId('tenants').value.trim());
      documents.clear();
      void refresh();
    });
    byId('forget').addEventListener('click', () => {
      for (const name of Object.values(STORE)) sessionStorage.removeItem(name);
      byId('access').reset();
      documents.clear();
      void refresh();
    });
    void refresh();
  }

  start();
})();
