// Operator: enrol partners, publish offers and price lists, vet, suspend and
// reinstate the chosen partner, set its authorized regions and earned tags,
// and watch the server's health, view lag and a few metrics. Every action is
// one command of docs/commands.md; the server decides and its errors are shown
// beside the field they name.
import {h, replace, clear} from './dom.js';
import {api} from './api.js';
import {t, addMessages, formatNumber} from './i18n.js';
import {field, form, section, errorBox, values, fieldError} from './forms.js';
import {setPartner} from './app.js';

addMessages({
  en: {
    'op.health': 'Health',
    'op.status': 'Status',
    'op.statusOk': 'ok',
    'op.statusDegraded': 'degraded',
    'op.logHead': 'Log head',
    'op.writable': 'Log writable',
    'op.views': 'Views',
    'op.view': 'View',
    'op.viewPosition': 'Position',
    'op.viewLag': 'Lag (positions)',
    'op.serving': 'Serving',
    'op.stores': 'Stores',
    'op.store': 'Store',
    'op.freeBytes': 'Free space',
    'op.storeError': 'Recent error',
    'op.metrics': 'Metrics highlights',
    'op.metric': 'Metric',
    'op.value': 'Value',
    'op.m.requests': 'HTTP requests',
    'op.m.requests4xx': 'HTTP requests answered 4xx',
    'op.m.requests5xx': 'HTTP requests answered 5xx',
    'op.m.commands': 'Commands',
    'op.m.commandsOk': 'Commands accepted',
    'op.m.fsyncs': 'Log fsyncs',
    'op.m.fsyncMean': 'Mean fsync time',
    'op.m.head': 'Log head (metrics)',
    'op.m.maxLag': 'Largest view lag',
    'op.enrol': 'Enrol a partner',
    'op.partnerName': 'Partner name',
    'op.mpnId': 'MPN id',
    'op.admin': 'The partner\'s first Global admin',
    'op.firstName': 'First name',
    'op.lastName': 'Last name',
    'op.email': 'Email',
    'op.phone': 'Phone',
    'op.legal': 'Legal profile',
    'op.companyName': 'Company name',
    'op.line1': 'Address line 1',
    'op.line2': 'Address line 2',
    'op.city': 'City',
    'op.state': 'State (2 letters)',
    'op.postalCode': 'Postal code',
    'op.country': 'Country (ISO code, e.g. US)',
    'op.region': 'Region',
    'op.contact': 'Primary contact',
    'op.approverEmail': 'Approver email',
    'op.sameAddress': 'The approver\'s address is the legal address',
    'op.approverAddress': 'Approver address',
    'op.organization': 'Organization',
    'op.tenantId': 'Tenant id',
    'op.defaultDomain': 'Default domain',
    'op.language': 'Language (e.g. en)',
    'op.culture': 'Culture (e.g. en-us)',
    'op.currency': 'Billing currency (e.g. USD)',
    'op.enrolSubmit': 'Enrol',
    'op.enrolled': 'Enrolled {name}.',
    'op.newPartner': 'New partner id',
    'op.tempPassword': 'The admin\'s temporary password',
    'op.tempPasswordHelp': 'Shown once, never stored: give it to {email} now. They must change it at their first sign-in.',
    'op.openPartner': 'Open this partner',
    'op.dismiss': 'I have passed it on: hide it',
    'op.partner': 'Partner {id}',
    'op.choose': 'Choose a partner in the top bar (or enrol one) to vet, suspend or tag it.',
    'op.summary': 'Now',
    'op.name': 'Name',
    'op.vetting': 'Vetting',
    'op.suspended': 'Suspended',
    'op.regions': 'Authorized regions',
    'op.competencies': 'Competencies',
    'op.endorsements': 'Endorsements',
    'op.setVetting': 'Vetting status',
    'op.vettingStatus': 'Status',
    'op.vettingSubStatus': 'Sub-status',
    'op.setVettingSubmit': 'Set the vetting status',
    'op.suspend': 'Suspend',
    'op.reason': 'Reason',
    'op.daysOverdue': 'Days overdue (billing only)',
    'op.note': 'Note',
    'op.suspendSubmit': 'Suspend the partner',
    'op.reinstate': 'Reinstate',
    'op.reinstateHelp': 'Lifts the suspension.',
    'op.reinstateSubmit': 'Reinstate the partner',
    'op.setRegions': 'Authorized regions',
    'op.regionsField': 'Regions, one per line (e.g. us-west)',
    'op.setRegionsSubmit': 'Set the regions',
    'op.tags': 'Earned tags',
    'op.competenciesField': 'Competencies, one per line',
    'op.endorsementsField': 'Endorsements, one per line',
    'op.setTagsSubmit': 'Set the tags',
    'op.done': 'Done: position {position}.',
    'op.catalog': 'Catalog',
    'op.publishOffer': 'Publish an offer',
    'op.offerId': 'Offer id',
    'op.displayName': 'Display name',
    'op.segment': 'Segment',
    'op.licenseAgreement': 'License agreement type',
    'op.purchaseUnit': 'Purchase unit',
    'op.secondaryLicense': 'Secondary license type',
    'op.baseOffers': 'Base offer ids, one per line',
    'op.endCustomer': 'End customer type',
    'op.billingModel': 'Billing model',
    'op.publishOfferSubmit': 'Publish the offer',
    'op.publishPriceList': 'Publish a price list',
    'op.priceListJson': 'The price list (JSON: market, currency, year, month, billing_model, rows)',
    'op.priceListHelp': 'As in docs/commands.md, PublishPriceList. Prices are micros (millionths). The server checks it.',
    'op.publishPriceListSubmit': 'Publish the price list',
    'op.badJson': 'Not valid JSON: {message}',
    'op.refreshHealth': 'Refresh health',
    'op.noCheckpointMetric': 'none',
  },
  ja: {
    'op.health': 'ヘルス',
    'op.status': '状態',
    'op.statusOk': '正常',
    'op.statusDegraded': '低下',
    'op.logHead': 'ログの先頭位置',
    'op.writable': 'ログへの書き込み',
    'op.views': 'ビュー',
    'op.view': 'ビュー',
    'op.viewPosition': '位置',
    'op.viewLag': '遅延 (位置数)',
    'op.serving': '提供中',
    'op.stores': 'ストア',
    'op.store': 'ストア',
    'op.freeBytes': '空き容量',
    'op.storeError': '直近のエラー',
    'op.metrics': 'メトリクスの要点',
    'op.metric': 'メトリクス',
    'op.value': '値',
    'op.m.requests': 'HTTP リクエスト数',
    'op.m.requests4xx': '4xx を返した HTTP リクエスト',
    'op.m.requests5xx': '5xx を返した HTTP リクエスト',
    'op.m.commands': 'コマンド数',
    'op.m.commandsOk': '受理されたコマンド',
    'op.m.fsyncs': 'ログの fsync 回数',
    'op.m.fsyncMean': 'fsync の平均時間',
    'op.m.head': 'ログの先頭位置 (メトリクス)',
    'op.m.maxLag': 'ビューの最大遅延',
    'op.enrol': 'パートナーの登録',
    'op.partnerName': 'パートナー名',
    'op.mpnId': 'MPN ID',
    'op.admin': 'パートナーの最初の全体管理者',
    'op.firstName': '名',
    'op.lastName': '姓',
    'op.email': 'メール',
    'op.phone': '電話番号',
    'op.legal': '法的プロファイル',
    'op.companyName': '会社名',
    'op.line1': '住所 1 行目',
    'op.line2': '住所 2 行目',
    'op.city': '市区町村',
    'op.state': '州 (2 文字)',
    'op.postalCode': '郵便番号',
    'op.country': '国 (ISO コード、例: JP)',
    'op.region': '地域',
    'op.contact': '主な連絡先',
    'op.approverEmail': '承認者のメール',
    'op.sameAddress': '承認者の住所は法的住所と同じ',
    'op.approverAddress': '承認者の住所',
    'op.organization': '組織',
    'op.tenantId': 'テナント ID',
    'op.defaultDomain': '既定のドメイン',
    'op.language': '言語 (例: ja)',
    'op.culture': 'カルチャ (例: ja-jp)',
    'op.currency': '請求通貨 (例: JPY)',
    'op.enrolSubmit': '登録',
    'op.enrolled': '{name} を登録しました。',
    'op.newPartner': '新しいパートナー ID',
    'op.tempPassword': '管理者の一時パスワード',
    'op.tempPasswordHelp': '表示は一度だけで、保存されません。今すぐ {email} に伝えてください。初回サインイン時に変更が必要です。',
    'op.openPartner': 'このパートナーを開く',
    'op.dismiss': '伝え終えたので非表示にする',
    'op.partner': 'パートナー {id}',
    'op.choose': '審査、停止、タグ付けを行うには、上部バーでパートナーを選ぶか、新しく登録してください。',
    'op.summary': '現在',
    'op.name': '名前',
    'op.vetting': '審査',
    'op.suspended': '停止中',
    'op.regions': '承認済み地域',
    'op.competencies': 'コンピテンシー',
    'op.endorsements': 'エンドースメント',
    'op.setVetting': '審査ステータス',
    'op.vettingStatus': 'ステータス',
    'op.vettingSubStatus': 'サブステータス',
    'op.setVettingSubmit': '審査ステータスを設定',
    'op.suspend': '停止',
    'op.reason': '理由',
    'op.daysOverdue': '延滞日数 (請求の場合のみ)',
    'op.note': 'メモ',
    'op.suspendSubmit': 'パートナーを停止',
    'op.reinstate': '再開',
    'op.reinstateHelp': '停止を解除します。',
    'op.reinstateSubmit': 'パートナーを再開',
    'op.setRegions': '承認済み地域',
    'op.regionsField': '地域 (1 行に 1 つ、例: us-west)',
    'op.setRegionsSubmit': '地域を設定',
    'op.tags': '獲得タグ',
    'op.competenciesField': 'コンピテンシー (1 行に 1 つ)',
    'op.endorsementsField': 'エンドースメント (1 行に 1 つ)',
    'op.setTagsSubmit': 'タグを設定',
    'op.done': '完了しました: 位置 {position}。',
    'op.catalog': 'カタログ',
    'op.publishOffer': 'オファーの公開',
    'op.offerId': 'オファー ID',
    'op.displayName': '表示名',
    'op.segment': 'セグメント',
    'op.licenseAgreement': 'ライセンス契約の種類',
    'op.purchaseUnit': '購入単位',
    'op.secondaryLicense': '二次ライセンスの種類',
    'op.baseOffers': 'ベース オファー ID (1 行に 1 つ)',
    'op.endCustomer': 'エンド カスタマーの種類',
    'op.billingModel': '課金モデル',
    'op.publishOfferSubmit': 'オファーを公開',
    'op.publishPriceList': '価格表の公開',
    'op.priceListJson': '価格表 (JSON: market、currency、year、month、billing_model、rows)',
    'op.priceListHelp': 'docs/commands.md の PublishPriceList と同じ形式です。価格はマイクロ単位 (100 万分の 1) です。サーバーが検証します。',
    'op.publishPriceListSubmit': '価格表を公開',
    'op.badJson': 'JSON として正しくありません: {message}',
    'op.refreshHealth': 'ヘルスを更新',
    'op.noCheckpointMetric': 'なし',
  },
});

const opts = (list) => list.map((v) => [v, v]);
const VETTING = ['none', 'pending', 'authorized', 'rejected'];
const SUB_STATUS = ['none', 'entry', 'email_ownership', 'email_domain', 'employment_verification', 'decision', 'other',
  'business_verification'];
const REASONS = ['billing_overdue', 'abuse', 'provider_issue'];

// Prometheus text: [{name, labels: {k: v}, value}] (comments and blank lines skipped).
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[3] || '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({name: m[1], labels, value: Number(m[4])});
  }
  return out;
}

function sum(metrics, name, pred) {
  return metrics.filter((m) => m.name === name && (!pred || pred(m.labels))).reduce((n, m) => n + m.value, 0);
}

function formatBytes(n) {
  if (n === undefined || n === null) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Number(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${formatNumber(Math.round(v * 10) / 10)} ${units[i]}`;
}

// headers: [text, numeric?]
function table(id, caption, headers, rows) {
  return h('div', {class: 'table-wrap'}, h('table', {id},
    h('caption', {class: 'visually-hidden'}, caption),
    h('thead', {}, h('tr', {}, headers.map(([c, num]) => h('th', {scope: 'col', class: num ? 'num' : undefined}, c)))),
    h('tbody', {}, rows)));
}

async function renderHealth(box) {
  let health;
  try {
    health = await api.get('/healthz');
  } catch (err) {
    // 503: degraded, with the same JSON body; anything else is an error.
    if (err.status !== 503) throw err;
    health = null;
  }
  const res = await api.raw('/metrics');
  const metrics = parseMetrics(await res.text());
  const ok = health && health.status === 'ok';
  const views = (health && health.views) || [];
  const stores = Object.entries((health && health.stores) || {});
  const fsyncCount = sum(metrics, 'acct_log_fsync_seconds_count');
  const fsyncSum = sum(metrics, 'acct_log_fsync_seconds_sum');
  const highlights = [
    ['op.m.requests', formatNumber(sum(metrics, 'acct_http_requests_total'))],
    ['op.m.requests4xx', formatNumber(sum(metrics, 'acct_http_requests_total', (l) => /^4/.test(l.status || '')))],
    ['op.m.requests5xx', formatNumber(sum(metrics, 'acct_http_requests_total', (l) => /^5/.test(l.status || '')))],
    ['op.m.commands', formatNumber(sum(metrics, 'acct_commands_total'))],
    ['op.m.commandsOk', formatNumber(sum(metrics, 'acct_commands_total', (l) => l.code === 'ok'))],
    ['op.m.fsyncs', formatNumber(fsyncCount)],
    ['op.m.fsyncMean', fsyncCount ? `${formatNumber(Math.round((fsyncSum / fsyncCount) * 1e6))} µs` : '—'],
    ['op.m.head', formatNumber(sum(metrics, 'acct_log_head_position'))],
    ['op.m.maxLag', formatNumber(Math.max(0, ...metrics.filter((m) => m.name === 'acct_view_lag_positions').map((m) => m.value)))],
  ];
  replace(box,
    h('dl', {class: 'facts'},
      h('dt', {}, t('op.status')), h('dd', {id: 'health-status'},
        h('span', {class: ok ? 'badge good' : 'badge bad'}, ok ? t('op.statusOk') : t('op.statusDegraded'))),
      h('dt', {}, t('op.logHead')), h('dd', {id: 'health-head'}, health && health.log ? String(health.log.head) : '—'),
      h('dt', {}, t('op.writable')), h('dd', {}, health && health.log && health.log.writable ? t('app.yes') : t('app.no'))),
    h('h3', {}, t('op.views')),
    table('health-views', t('op.views'), [[t('op.view')], [t('op.viewPosition'), true], [t('op.viewLag'), true], [t('op.serving')]],
      views.map((v) => h('tr', {dataset: {view: v.name}},
        h('th', {scope: 'row'}, v.name), h('td', {class: 'num'}, String(v.position)),
        h('td', {class: 'num lag'}, h('span', {class: v.lag > 0 ? 'health-bad' : 'health-ok'}, String(v.lag))),
        h('td', {}, v.serving ? t('app.yes') : t('app.no'))))),
    h('h3', {}, t('op.stores')),
    table('health-stores', t('op.stores'), [[t('op.store')], [t('op.status')], [t('op.freeBytes'), true], [t('op.storeError')]],
      stores.map(([name, s]) => h('tr', {},
        h('th', {scope: 'row'}, name),
        h('td', {}, h('span', {class: s.status === 'ok' ? 'badge good' : 'badge bad'}, s.status)),
        h('td', {class: 'num'}, formatBytes(s.free_bytes)),
        h('td', {}, s.error || '')))),
    h('h3', {}, t('op.metrics')),
    table('health-metrics', t('op.metrics'), [[t('op.metric')], [t('op.value'), true]],
      highlights.map(([k, v]) => h('tr', {}, h('th', {scope: 'row'}, t(k)), h('td', {class: 'num'}, v)))));
}

function addressFields(prefix) {
  return [
    field({label: t('op.line1'), name: `${prefix}.line1`, required: true, maxlength: 200}),
    field({label: t('op.line2'), name: `${prefix}.line2`, maxlength: 200}),
    field({label: t('op.city'), name: `${prefix}.city`, required: true, maxlength: 100}),
    field({label: t('op.state'), name: `${prefix}.state`, maxlength: 2}),
    field({label: t('op.postalCode'), name: `${prefix}.postal_code`, maxlength: 20}),
    field({label: t('op.country'), name: `${prefix}.country`, required: true, maxlength: 2, value: 'US'}),
    field({label: t('op.region'), name: `${prefix}.region`, maxlength: 100}),
  ];
}

function fieldset(legend, ...children) {
  return h('fieldset', {class: 'stack'}, h('legend', {}, legend), h('div', {class: 'grid'}, children));
}

function enrolForm(ctx) {
  const resultBox = h('div', {id: 'enrol-result', 'aria-live': 'polite'});
  const same = field({label: t('op.sameAddress'), name: 'same_address', type: 'checkbox', value: true});
  same.input.dataset.skip = '1';
  const approverAddress = addressFields('legal.approver_address');
  const approverSet = fieldset(t('op.approverAddress'), approverAddress);
  const syncApprover = () => {
    approverSet.hidden = same.input.checked;
    for (const f of approverAddress) f.input.disabled = same.input.checked;
  };
  same.input.addEventListener('change', syncApprover);
  syncApprover();
  const enrol = form({submitLabel: t('op.enrolSubmit'), onsubmit: async (el) => {
    const body = values(el);
    if (same.input.checked) body.legal.approver_address = {...body.legal.address};
    const reply = await api.command('EnrollPartner', body);
    const id = reply.result.partner_id;
    const password = reply.result.temporary_password;
    const secret = h('div', {class: 'secret stack', id: 'enrol-secret'},
      h('dl', {class: 'facts'},
        h('dt', {}, t('op.newPartner')), h('dd', {}, h('code', {id: 'new-partner-id'}, id)),
        h('dt', {}, t('op.tempPassword')), h('dd', {}, h('code', {id: 'new-partner-password'}, password))),
      h('p', {}, t('op.tempPasswordHelp', {email: body.admin.email})),
      h('div', {class: 'actions'},
        h('button', {type: 'button', class: 'primary', id: 'open-new-partner', onclick: () => {
          clear(resultBox);
          setPartner(id);
        }}, t('op.openPartner')),
        h('button', {type: 'button', id: 'dismiss-secret', onclick: () => clear(resultBox)}, t('op.dismiss'))));
    replace(resultBox, secret);
    // A second partner needs its own tenant.
    el.querySelector('[data-field="tenant_id"]').value = crypto.randomUUID();
    return t('op.enrolled', {name: body.partner_name});
  }},
  fieldset(t('op.partnerName'),
    field({label: t('op.partnerName'), name: 'partner_name', required: true, maxlength: 200}),
    field({label: t('op.mpnId'), name: 'mpn_id', required: true, maxlength: 10, inputmode: 'numeric'})),
  fieldset(t('op.admin'),
    field({label: t('op.firstName'), name: 'admin.first_name', required: true, maxlength: 50}),
    field({label: t('op.lastName'), name: 'admin.last_name', required: true, maxlength: 50}),
    field({label: t('op.email'), name: 'admin.email', type: 'email', required: true, maxlength: 254}),
    field({label: t('op.phone'), name: 'admin.phone', type: 'tel', maxlength: 32})),
  fieldset(t('op.legal'),
    field({label: t('op.companyName'), name: 'legal.company_name', required: true, maxlength: 200}),
    addressFields('legal.address')),
  fieldset(t('op.contact'),
    field({label: t('op.firstName'), name: 'legal.primary_contact.first_name', required: true, maxlength: 50}),
    field({label: t('op.lastName'), name: 'legal.primary_contact.last_name', required: true, maxlength: 50}),
    field({label: t('op.email'), name: 'legal.primary_contact.email', type: 'email', required: true, maxlength: 254}),
    field({label: t('op.phone'), name: 'legal.primary_contact.phone', type: 'tel', maxlength: 32}),
    field({label: t('op.approverEmail'), name: 'legal.approver_email', type: 'email', required: true, maxlength: 254})),
  same,
  approverSet,
  fieldset(t('op.organization'),
    field({label: t('op.tenantId'), name: 'tenant_id', required: true, value: crypto.randomUUID()}),
    field({label: t('op.defaultDomain'), name: 'default_domain', required: true, maxlength: 253,
      placeholder: 'example.onmicrosoft.com'}),
    field({label: t('op.language'), name: 'language', required: true, value: 'en', maxlength: 3}),
    field({label: t('op.culture'), name: 'culture', required: true, value: 'en-us', maxlength: 5}),
    field({label: t('op.currency'), name: 'billing_currency', value: 'USD', maxlength: 3})));
  enrol.id = 'enrol-form';
  return [enrol, resultBox];
}

async function partnerActions(box, partner) {
  const summary = h('div', {id: 'partner-summary', 'aria-live': 'polite'});
  async function refresh() {
    const state = await api.get(`/v1/partners/${encodeURIComponent(partner)}/state`);
    const p = state.partner;
    replace(summary, p ? h('dl', {class: 'facts'},
      h('dt', {}, t('op.name')), h('dd', {}, p.partner_name),
      h('dt', {}, t('op.vetting')), h('dd', {id: 'summary-vetting'}, `${p.vetting.status} / ${p.vetting.sub_status}`),
      h('dt', {}, t('op.suspended')), h('dd', {id: 'summary-suspended'},
        p.suspended ? h('span', {class: 'badge bad'}, t('app.yes')) : h('span', {class: 'badge good'}, t('app.no'))),
      h('dt', {}, t('op.regions')), h('dd', {id: 'summary-regions'}, (p.authorized_regions || []).join(', ') || t('app.none')),
      h('dt', {}, t('op.competencies')), h('dd', {}, (p.competencies || []).join(', ') || t('app.none')),
      h('dt', {}, t('op.endorsements')), h('dd', {}, (p.endorsements || []).join(', ') || t('app.none'))) :
      h('p', {class: 'notice'}, t('app.none')));
    return p;
  }
  const p = await refresh();
  const cmd = async (type, fields) => {
    const reply = await api.command(type, {partner_id: partner, ...fields});
    await refresh();
    return t('op.done', {position: reply.last_position});
  };
  const vetting = form({submitLabel: t('op.setVettingSubmit'), onsubmit: (el) => cmd('SetVettingStatus', values(el))},
    h('div', {class: 'row'},
      field({label: t('op.vettingStatus'), name: 'status', options: opts(VETTING), value: p ? p.vetting.status : 'none'}),
      field({label: t('op.vettingSubStatus'), name: 'sub_status', options: opts(SUB_STATUS), value: p ? p.vetting.sub_status : 'none'})));
  vetting.id = 'vetting-form';
  const days = field({label: t('op.daysOverdue'), name: 'days_overdue', type: 'number', min: 0, step: 1});
  days.input.dataset.number = '1';
  const suspend = form({submitLabel: t('op.suspendSubmit'), danger: true, onsubmit: (el) => {
    const v = values(el);
    if (v.days_overdue === null) delete v.days_overdue;
    if (!v.note) delete v.note;
    return cmd('SuspendPartner', v);
  }}, h('div', {class: 'row'},
    field({label: t('op.reason'), name: 'reason', options: opts(REASONS)}), days),
  field({label: t('op.note'), name: 'note', type: 'textarea', rows: 2, maxlength: 1000}));
  suspend.id = 'suspend-form';
  const reinstate = form({submitLabel: t('op.reinstateSubmit'), onsubmit: () => cmd('ReinstatePartner', {})},
    h('p', {}, t('op.reinstateHelp')));
  reinstate.id = 'reinstate-form';
  const regions = field({label: t('op.regionsField'), name: 'regions', type: 'textarea', rows: 3,
    value: p ? (p.authorized_regions || []).join('\n') : ''});
  regions.input.dataset.list = '1';
  const regionsForm = form({submitLabel: t('op.setRegionsSubmit'), onsubmit: (el) => cmd('SetAuthorizedRegions', values(el))},
    regions);
  regionsForm.id = 'regions-form';
  const comp = field({label: t('op.competenciesField'), name: 'competencies', type: 'textarea', rows: 3,
    value: p ? (p.competencies || []).join('\n') : ''});
  comp.input.dataset.list = '1';
  const endo = field({label: t('op.endorsementsField'), name: 'endorsements', type: 'textarea', rows: 3,
    value: p ? (p.endorsements || []).join('\n') : ''});
  endo.input.dataset.list = '1';
  const tagsForm = form({submitLabel: t('op.setTagsSubmit'), onsubmit: (el) => cmd('SetEarnedTags', values(el))},
    h('div', {class: 'grid'}, comp, endo));
  tagsForm.id = 'tags-form';
  const sub = (title, ...children) => h('div', {class: 'stack'}, h('h3', {}, title), children);
  replace(box,
    h('p', {}, t('op.partner', {id: ''}), h('code', {id: 'operator-partner'}, partner)),
    sub(t('op.summary'), summary),
    h('div', {class: 'grid'},
      sub(t('op.setVetting'), vetting),
      sub(t('op.suspend'), suspend),
      sub(t('op.reinstate'), reinstate),
      sub(t('op.setRegions'), regionsForm)),
    sub(t('op.tags'), tagsForm));
}

function catalogForms() {
  const baseOffers = field({label: t('op.baseOffers'), name: 'offer.base_offer_ids', type: 'textarea', rows: 2});
  baseOffers.input.dataset.list = '1';
  const offer = form({submitLabel: t('op.publishOfferSubmit'), onsubmit: async (el) => {
    const reply = await api.command('PublishOffer', values(el));
    return t('op.done', {position: reply.last_position});
  }}, h('div', {class: 'grid'},
    field({label: t('op.offerId'), name: 'offer.offer_id', required: true, maxlength: 64}),
    field({label: t('op.displayName'), name: 'offer.display_name', required: true, maxlength: 200}),
    field({label: t('op.segment'), name: 'offer.segment', options: opts(['enterprise', 'small_business', 'government'])}),
    field({label: t('op.licenseAgreement'), name: 'offer.license_agreement_type', options: opts(['corporate', 'government', 'academic'])}),
    field({label: t('op.purchaseUnit'), name: 'offer.purchase_unit', required: true, maxlength: 50, value: '1 Month'}),
    field({label: t('op.secondaryLicense'), name: 'offer.secondary_license_type', options: opts(['non_specific', 'add_on', 'trial'])}),
    field({label: t('op.endCustomer'), name: 'offer.end_customer_type', options: opts(['corporate', 'government', 'faculty', 'student'])}),
    field({label: t('op.billingModel'), name: 'offer.billing_model', options: opts(['license_based', 'usage_based'])})),
  baseOffers);
  offer.id = 'offer-form';
  const now = new Date();
  const example = {market: 'US', currency: 'USD', year: now.getUTCFullYear() + 1, month: 1, billing_model: 'license_based',
    rows: [{change_code: 'ADD', valid_from: `${now.getUTCFullYear() + 1}-01-01T00:00:00Z`,
      valid_to: `${now.getUTCFullYear() + 1}-01-31T23:59:59Z`, offer_display_name: 'Offer 1', offer_id: 'offer-1',
      license_agreement_type: 'corporate', purchase_unit: '1 Month', secondary_license_type: 'non_specific',
      end_customer_type: 'corporate', list_price_micros: 10000000, erp_price_micros: 12000000}]};
  const json = field({label: t('op.priceListJson'), name: 'price_list', type: 'textarea', rows: 14,
    help: t('op.priceListHelp'), value: JSON.stringify(example, null, 2)});
  json.input.classList.add('code');
  const priceList = form({submitLabel: t('op.publishPriceListSubmit'), onsubmit: async () => {
    let parsed;
    try {
      parsed = JSON.parse(json.input.value);
    } catch (e) {
      throw fieldError(t('op.badJson', {message: e.message}), 'price_list');
    }
    const reply = await api.command('PublishPriceList', {price_list: parsed});
    return t('op.done', {position: reply.last_position});
  }}, json);
  priceList.id = 'price-list-form';
  return [h('h3', {}, t('op.publishOffer')), offer, h('h3', {}, t('op.publishPriceList')), priceList];
}

export default {
  id: 'operator',
  nav: 'nav.operator',
  visible: (me) => me.kind === 'operator',
  needsPartner: false,
  async render(root, ctx) {
    root.appendChild(h('h1', {}, t('nav.operator')));
    const healthBox = h('div', {id: 'health', 'aria-live': 'polite'});
    const partnerBox = h('div', {id: 'partner-actions'});
    root.appendChild(section(t('op.health'), healthBox,
      h('div', {class: 'actions'}, h('button', {type: 'button', id: 'health-refresh', onclick: () => {
        renderHealth(healthBox).catch((err) => replace(healthBox, errorBox(err)));
      }}, t('op.refreshHealth')))));
    root.appendChild(section(t('app.partner'), partnerBox));
    root.appendChild(section(t('op.enrol'), enrolForm(ctx)));
    root.appendChild(section(t('op.catalog'), catalogForms()));
    const jobs = [renderHealth(healthBox).catch((err) => replace(healthBox, errorBox(err)))];
    if (ctx.partner) {
      jobs.push(partnerActions(partnerBox, ctx.partner).catch((err) => replace(partnerBox, errorBox(err))));
    } else {
      partnerBox.appendChild(h('p', {class: 'notice', id: 'choose-partner'}, t('op.choose')));
    }
    await Promise.all(jobs);
  },
};
