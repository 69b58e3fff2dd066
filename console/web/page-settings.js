// Account settings: the partner's profiles (legal, support, billing,
// organization), tax exemptions (with their state on a chosen date), locations
// and the reseller agreement, from GET /v1/partners/{id}/profile. Each form
// sends one command (docs/commands.md) and shows the API's error beside the
// field it names; a form shows only when the caller's permissions allow its
// command, else the part is read-only. The operator, who does not read
// /profile, sees the partner read-only through GET /v1/partners/{id}/state.
import {h, replace, announce} from './dom.js';
import {api, can} from './api.js';
import {t, addMessages, formatDate, formatDateTime} from './i18n.js';
import {field, form, values} from './forms.js';
import './labels.js';

addMessages({
  en: {
    'settings.partnerName': 'Partner',
    'settings.mpnId': 'MPN id',
    'settings.country': 'Country',
    'settings.currency': 'Billing currency',
    'settings.enrolledAt': 'Enrolled',
    'settings.vetting': 'Vetting status',
    'settings.suspended': 'Suspended',
    'settings.readOnly': 'Read-only: your roles do not allow changes here.',
    'settings.operatorView': 'The operator sees this partner read-only, replayed from its log (GET /state).',
    'settings.withheld': 'Withheld from you (your roles do not read them): {parts}.',
    'settings.withheldPart': 'Withheld from you.',
    'settings.empty': '—',
    'settings.legal': 'Legal profile',
    'settings.legalHelp': 'Any change sends the legal profile back to verification (vetting status Pending). The country cannot change.',
    'settings.support': 'Support profile',
    'settings.billing': 'Billing profile',
    'settings.organization': 'Organization profile',
    'settings.companyName': 'Company name',
    'settings.address': 'Address',
    'settings.approverAddress': 'Approver address',
    'settings.primaryContact': 'Primary contact',
    'settings.line1': 'Address line 1',
    'settings.line2': 'Address line 2',
    'settings.city': 'City',
    'settings.state': 'State (2 letters)',
    'settings.postalCode': 'Postal code',
    'settings.countryCode': 'Country (ISO code, 2 letters)',
    'settings.countryFixed': 'Fixed at enrollment.',
    'settings.region': 'Region',
    'settings.firstName': 'First name',
    'settings.lastName': 'Last name',
    'settings.email': 'Email',
    'settings.phone': 'Phone',
    'settings.website': 'Website',
    'settings.approverEmail': 'Approver email',
    'settings.poNumber': 'Purchase order number',
    'settings.taxId': 'Tax id (VAT id in the EU)',
    'settings.currencyFixed': 'The billing currency follows the country and cannot change.',
    'settings.tenantId': 'Tenant id',
    'settings.defaultDomain': 'Default domain',
    'settings.orgEmail': 'Organization email',
    'settings.language': 'Language',
    'settings.culture': 'Culture (e.g. en-us)',
    'settings.exemptions': 'Tax exemptions',
    'settings.exemptionsNone': 'No tax exemptions filed.',
    'settings.jurisdiction': 'Jurisdiction',
    'settings.certificate': 'Certificate',
    'settings.validFrom': 'Valid from',
    'settings.expiresOn': 'Expires on',
    'settings.filedAt': 'Filed',
    'settings.exState': 'State',
    'settings.actions': 'Actions',
    'settings.exState.active': 'Active',
    'settings.exState.not_yet_valid': 'Not yet valid',
    'settings.exState.expired': 'Expired',
    'settings.exState.revoked': 'Revoked',
    'settings.revokedReason': 'Reason: {reason}',
    'settings.file': 'File a tax exemption',
    'settings.fileSubmit': 'File exemption',
    'settings.filed': 'Tax exemption filed.',
    'settings.revoke': 'Revoke',
    'settings.revokeOf': 'Revoke the exemption {ref}',
    'settings.revokeReason': 'Reason for revoking {ref}',
    'settings.revokeConfirm': 'Confirm revocation',
    'settings.revoked': 'Tax exemption revoked.',
    'settings.renew': 'Renew',
    'settings.renewOf': 'Renew {ref}: a new certificate replaces it in one step',
    'settings.renewSubmit': 'Renew exemption',
    'settings.renewed': 'Tax exemption renewed.',
    'settings.newCertificate': 'New certificate reference',
    'settings.onDate': 'State on a date',
    'settings.onDateHelp': 'Which exemptions applied on that day, as the server computes it.',
    'settings.date': 'Date',
    'settings.show': 'Show',
    'settings.onDateResult': 'On {date}:',
    'settings.onDateActive': 'Active on {date}: {list}',
    'settings.onDateNoneActive': 'No exemption was active on {date}.',
    'settings.locations': 'Locations',
    'settings.locationsNone': 'No locations.',
    'settings.locationMpn': 'Location MPN id',
    'settings.add': 'Add location',
    'settings.added': 'Location added.',
    'settings.remove': 'Remove',
    'settings.removeOf': 'Remove the location {where}',
    'settings.removeConfirm': 'Confirm removal of {where}',
    'settings.removed': 'Location removed.',
    'settings.agreement': 'Reseller agreement',
    'settings.agreementAccepted': 'Version {version} accepted on {date}.',
    'settings.agreementNone': 'Not accepted yet.',
    'settings.agreementVersion': 'Agreement version',
    'settings.agreementHelp': 'Accepting binds the company. US resellers owe their tax documents within 30 days of the first acceptance.',
    'settings.accept': 'Accept the agreement',
    'settings.acceptedNow': 'Reseller agreement accepted.',
    'settings.vetting.none': 'None',
    'settings.vetting.pending': 'Pending',
    'settings.vetting.authorized': 'Authorized',
    'settings.vetting.rejected': 'Rejected',
  },
  ja: {
    'settings.partnerName': 'パートナー',
    'settings.mpnId': 'MPN ID',
    'settings.country': '国',
    'settings.currency': '請求通貨',
    'settings.enrolledAt': '登録日時',
    'settings.vetting': '審査ステータス',
    'settings.suspended': '停止中',
    'settings.readOnly': '閲覧のみ: あなたのロールではここを変更できません。',
    'settings.operatorView': 'オペレーターには、このパートナーがログから再生した読み取り専用の状態 (GET /state) で表示されます。',
    'settings.withheld': 'あなたのロールでは閲覧できないため非表示: {parts}。',
    'settings.withheldPart': 'あなたには表示されません。',
    'settings.empty': '—',
    'settings.legal': '法的プロファイル',
    'settings.legalHelp': '変更すると法的プロファイルは再審査 (審査ステータス: 保留中) になります。国は変更できません。',
    'settings.support': 'サポート プロファイル',
    'settings.billing': '請求プロファイル',
    'settings.organization': '組織プロファイル',
    'settings.companyName': '会社名',
    'settings.address': '住所',
    'settings.approverAddress': '承認者の住所',
    'settings.primaryContact': '主要連絡先',
    'settings.line1': '住所 1 行目',
    'settings.line2': '住所 2 行目',
    'settings.city': '市区町村',
    'settings.state': '州 (2 文字)',
    'settings.postalCode': '郵便番号',
    'settings.countryCode': '国 (ISO コード 2 文字)',
    'settings.countryFixed': '登録時に確定しています。',
    'settings.region': '地域',
    'settings.firstName': '名',
    'settings.lastName': '姓',
    'settings.email': 'メール アドレス',
    'settings.phone': '電話番号',
    'settings.website': 'Web サイト',
    'settings.approverEmail': '承認者のメール アドレス',
    'settings.poNumber': '発注書番号',
    'settings.taxId': '税 ID (EU では VAT ID)',
    'settings.currencyFixed': '請求通貨は国によって決まり、変更できません。',
    'settings.tenantId': 'テナント ID',
    'settings.defaultDomain': '既定のドメイン',
    'settings.orgEmail': '組織のメール アドレス',
    'settings.language': '言語',
    'settings.culture': 'カルチャ (例: en-us)',
    'settings.exemptions': '免税',
    'settings.exemptionsNone': '登録された免税はありません。',
    'settings.jurisdiction': '管轄',
    'settings.certificate': '証明書',
    'settings.validFrom': '有効開始日',
    'settings.expiresOn': '有効期限',
    'settings.filedAt': '登録日時',
    'settings.exState': '状態',
    'settings.actions': '操作',
    'settings.exState.active': '有効',
    'settings.exState.not_yet_valid': '開始前',
    'settings.exState.expired': '期限切れ',
    'settings.exState.revoked': '取り消し済み',
    'settings.revokedReason': '理由: {reason}',
    'settings.file': '免税を登録',
    'settings.fileSubmit': '免税を登録',
    'settings.filed': '免税を登録しました。',
    'settings.revoke': '取り消す',
    'settings.revokeOf': '免税 {ref} を取り消す',
    'settings.revokeReason': '{ref} を取り消す理由',
    'settings.revokeConfirm': '取り消しを確定',
    'settings.revoked': '免税を取り消しました。',
    'settings.renew': '更新',
    'settings.renewOf': '{ref} を更新: 新しい証明書が 1 回の操作で置き換えます',
    'settings.renewSubmit': '免税を更新',
    'settings.renewed': '免税を更新しました。',
    'settings.newCertificate': '新しい証明書の参照番号',
    'settings.onDate': '指定日の状態',
    'settings.onDateHelp': 'その日にどの免税が適用されていたかを、サーバーの計算で表示します。',
    'settings.date': '日付',
    'settings.show': '表示',
    'settings.onDateResult': '{date} 時点:',
    'settings.onDateActive': '{date} に有効: {list}',
    'settings.onDateNoneActive': '{date} に有効な免税はありませんでした。',
    'settings.locations': '所在地',
    'settings.locationsNone': '所在地はありません。',
    'settings.locationMpn': '所在地の MPN ID',
    'settings.add': '所在地を追加',
    'settings.added': '所在地を追加しました。',
    'settings.remove': '削除',
    'settings.removeOf': '所在地 {where} を削除',
    'settings.removeConfirm': '{where} の削除を確定',
    'settings.removed': '所在地を削除しました。',
    'settings.agreement': 'リセラー契約',
    'settings.agreementAccepted': 'バージョン {version} に {date} に同意済み。',
    'settings.agreementNone': 'まだ同意していません。',
    'settings.agreementVersion': '契約のバージョン',
    'settings.agreementHelp': '同意すると会社が契約に拘束されます。米国のリセラーは最初の同意から 30 日以内に税務書類を提出する必要があります。',
    'settings.accept': '契約に同意',
    'settings.acceptedNow': 'リセラー契約に同意しました。',
    'settings.vetting.none': 'なし',
    'settings.vetting.pending': '保留中',
    'settings.vetting.authorized': '承認済み',
    'settings.vetting.rejected': '却下',
  },
});

// ---- the profile as this page reads it ------------------------------------------
function getPath(obj, path) {
  return path.split('.').reduce((o, k) => (o === undefined || o === null ? undefined : o[k]), obj);
}

// The operator reads the partner through /state (aggregates): the same parts
// under other names, turned into the /profile shape this page reads.
function fromState(state) {
  const p = state.partner || {};
  return {
    partner_id: state.partner_id,
    network: {partner_name: p.partner_name, mpn_id: p.mpn_id},
    country: p.country,
    billing_currency: p.billing_currency,
    legal: p.legal, support: p.support, billing: p.billing, organization: p.organization,
    vetting: p.vetting,
    suspension: {suspended: !!p.suspended},
    selling: {agreement_accepted_at: p.agreement_accepted_at, agreement_version: p.agreement_version},
    locations: Object.entries(p.locations || {}).map(([id, l]) => ({location_id: id, ...l})),
    tax_exemptions: Object.entries(p.tax_exemptions || {}).map(([id, e]) => ({exemption_id: id, ...e,
      state: exemptionState(e, state.as_of)})),
    withheld: [],
  };
}

// The state of an exemption at a time (the operator's view, from /state?as_of).
function exemptionState(e, at) {
  const when = new Date(at || Date.now()).getTime();
  if (e.revoked) return 'revoked';
  if (when < new Date(e.valid_from).getTime()) return 'not_yet_valid';
  if (when >= new Date(e.expires_on).getTime()) return 'expired';
  return 'active';
}

async function readProfile(ctx, query) {
  if (ctx.me.kind === 'operator') {
    const q = {};
    if (query && query.date) q.as_of = `${query.date}T23:59:59Z`;
    if (query && query.min_position) q.min_position = query.min_position;
    return fromState(await api.get(`/v1/partners/${ctx.partner}/state`, q));
  }
  return api.get(`/v1/partners/${ctx.partner}/profile`, query);
}

// ---- forms from field specs -------------------------------------------------------
const ADDRESS = [['line1', 'settings.line1', {required: true, maxlength: 200}], ['line2', 'settings.line2', {maxlength: 200}],
  ['city', 'settings.city', {required: true, maxlength: 100}], ['state', 'settings.state', {maxlength: 2}],
  ['postal_code', 'settings.postalCode', {maxlength: 20}], ['country', 'settings.countryCode', {required: true, maxlength: 2}],
  ['region', 'settings.region', {maxlength: 100}]];
const CONTACT = [['first_name', 'settings.firstName', {required: true, maxlength: 50}],
  ['last_name', 'settings.lastName', {required: true, maxlength: 50}],
  ['email', 'settings.email', {required: true, type: 'email'}], ['phone', 'settings.phone', {type: 'tel'}]];

function group(prefix, list, extra) {
  return list.map(([key, label, opts]) => ({name: `${prefix}.${key}`, label, ...opts, ...((extra || {})[key] || {})}));
}

// A part of a profile: {title, help, permission, groups: [{legend, fields: [{name, label, src, ...}]}], send(values)}
function profilePart(spec, profile, ctx, sink) {
  const withheld = profile.withheld || [];
  const isWithheld = (name) => withheld.some((w) => name === w || name.startsWith(w + '.'));
  const srcOf = (f) => f.src || f.name;
  const editable = can(ctx.me, spec.permission);
  const body = [];
  if (spec.help) body.push(h('p', {class: 'field-help'}, t(spec.help)));
  if (editable) {
    const groups = spec.groups.map((g) => {
      const inputs = g.fields.filter((f) => !isWithheld(srcOf(f))).map((f) => {
        const el = field({label: t(f.label), name: f.name, type: f.type, required: f.required, maxlength: f.maxlength,
          help: f.help ? t(f.help) : undefined, value: getPath(profile, srcOf(f)) ?? ''});
        if (f.readonly) el.input.readOnly = true;
        return el;
      });
      return g.legend ? h('fieldset', {class: 'stack'}, h('legend', {}, t(g.legend)), inputs) : inputs;
    });
    body.push(form({submitLabel: t('app.save'), onsubmit: async (formEl) => {
      const reply = await api.command(spec.command, {partner_id: ctx.partner, ...spec.send(values(formEl))});
      sink.position = reply.min_position;
      return t('app.saved');
    }}, groups));
  } else {
    body.push(h('p', {class: 'notice'}, t('settings.readOnly')));
    for (const g of spec.groups) {
      if (g.legend) body.push(h('h3', {}, t(g.legend)));
      body.push(h('dl', {class: 'facts'}, g.fields.map((f) => {
        const v = getPath(profile, srcOf(f));
        return [h('dt', {}, t(f.label)),
          h('dd', {}, isWithheld(srcOf(f)) ? h('em', {}, t('settings.withheldPart')) : (v === '' || v === undefined || v === null ? t('settings.empty') : String(v)))];
      })));
    }
  }
  return h('section', {class: 'card', 'aria-labelledby': `${spec.id}-title`, id: spec.id},
    h('h2', {id: `${spec.id}-title`}, t(spec.title)), body);
}

// Dates are typed as YYYY-MM-DD (the API's form), the same in every language.
const DATE = {required: true, maxlength: 10, placeholder: 'YYYY-MM-DD', pattern: '\\d{4}-\\d{2}-\\d{2}', inputmode: 'numeric'};

const fixedCountry = {country: {readonly: true, help: 'settings.countryFixed'}};

function profileSpecs(profile) {
  return [
    {id: 'legal-profile', title: 'settings.legal', help: 'settings.legalHelp', permission: 'update_legal_profile',
      command: 'UpdateLegalProfile',
      groups: [
        {fields: [{name: 'legal.company_name', label: 'settings.companyName', required: true, maxlength: 200}]},
        {legend: 'settings.address', fields: group('legal.address', ADDRESS, fixedCountry)},
        {legend: 'settings.primaryContact', fields: group('legal.primary_contact', CONTACT)},
        {fields: [{name: 'legal.approver_email', label: 'settings.approverEmail', type: 'email', required: true}]},
        {legend: 'settings.approverAddress', fields: group('legal.approver_address', ADDRESS)},
      ],
      send: (v) => ({legal: v.legal})},
    {id: 'support-profile', title: 'settings.support', permission: 'update_support_profile', command: 'UpdateSupportProfile',
      groups: [{fields: [{name: 'support.email', label: 'settings.email', type: 'email', required: true},
        {name: 'support.phone', label: 'settings.phone', type: 'tel'},
        {name: 'support.website', label: 'settings.website', type: 'url'}]}],
      send: (v) => ({support: v.support})},
    {id: 'billing-profile', title: 'settings.billing', permission: 'manage_billing', command: 'UpdateBillingProfile',
      groups: [
        {fields: [{name: 'billing.company_name', label: 'settings.companyName', required: true, maxlength: 200}]},
        {legend: 'settings.address', fields: group('billing.address', ADDRESS)},
        {legend: 'settings.primaryContact', fields: group('billing.primary_contact', CONTACT)},
        {fields: [{name: 'billing.purchase_order_number', label: 'settings.poNumber', maxlength: 50},
          {name: 'billing.tax_id', label: 'settings.taxId', maxlength: 30},
          {name: 'billing_currency', label: 'settings.currency', readonly: true, help: 'settings.currencyFixed'}]},
      ],
      send: (v) => ({billing: v.billing, billing_currency: v.billing_currency || profile.billing_currency})},
    {id: 'organization-profile', title: 'settings.organization', permission: 'update_organization_profile',
      command: 'UpdateOrganizationProfile',
      groups: [{fields: [
        {name: 'tenant_id', src: 'organization.tenant_id', label: 'settings.tenantId', readonly: true},
        {name: 'default_domain', src: 'organization.default_domain', label: 'settings.defaultDomain', required: true},
        {name: 'email', src: 'organization.email', label: 'settings.orgEmail', type: 'email', required: true},
        {name: 'language', src: 'organization.language', label: 'settings.language', required: true},
        {name: 'culture', src: 'organization.culture', label: 'settings.culture', required: true}]}],
      send: (v) => ({default_domain: v.default_domain, email: v.email, language: v.language, culture: v.culture})},
  ];
}

// ---- confirm steps ------------------------------------------------------------------
// A button that, once pressed, shows an inline form (the confirm step) in `slot`.
function inlineStep(slot, buildForm) {
  const open = () => {
    const close = () => replace(slot);
    const el = buildForm(close);
    replace(slot, el);
    const first = el.querySelector('input, textarea, select, button');
    if (first) first.focus();
  };
  return open;
}

function cancelButton(close) {
  return h('button', {type: 'button', onclick: close}, t('app.cancel'));
}

// ---- the page -------------------------------------------------------------------------
export default {
  id: 'settings',
  nav: 'nav.settings',
  // Partner users with a role read the profile; the operator reads it through
  // /state; an auditor uses the audit pages.
  visible: (me) => me.kind === 'operator' || (me.kind === 'user' && (me.roles || []).length > 0),
  needsPartner: true,
  async render(root, ctx) {
    const {me} = ctx;
    const profile = await readProfile(ctx);
    if (!ctx.isCurrent()) return;
    const sink = {position: null};

    root.appendChild(h('h1', {}, t('nav.settings')));
    root.appendChild(h('p', {class: 'lead'}, h('span', {class: 'label'}, `${t('settings.partnerName')}: `),
      h('strong', {id: 'partner-name'}, getPath(profile, 'network.partner_name') || '')));
    if (me.kind === 'operator') root.appendChild(h('p', {class: 'notice'}, t('settings.operatorView')));
    const withheld = profile.withheld || [];
    if (withheld.length) root.appendChild(h('p', {class: 'notice', id: 'withheld'}, t('settings.withheld', {parts: withheld.join(', ')})));

    const facts = h('dl', {class: 'facts'},
      h('dt', {}, t('settings.mpnId')), h('dd', {}, getPath(profile, 'network.mpn_id') || '—'),
      h('dt', {}, t('settings.country')), h('dd', {}, profile.country || '—'),
      h('dt', {}, t('settings.currency')), h('dd', {}, profile.billing_currency || '—'),
      profile.enrolled_at ? [h('dt', {}, t('settings.enrolledAt')), h('dd', {}, formatDateTime(profile.enrolled_at))] : null,
      profile.vetting ? [h('dt', {}, t('settings.vetting')), h('dd', {}, t(`settings.vetting.${profile.vetting.status}`),
        profile.vetting.sub_status && profile.vetting.sub_status !== 'none' ? ` (${profile.vetting.sub_status})` : '')] : null,
      h('dt', {}, t('settings.suspended')), h('dd', {}, profile.suspension && profile.suspension.suspended ? t('app.yes') : t('app.no')));
    root.appendChild(h('section', {class: 'card', 'aria-label': t('settings.partnerName')}, facts));

    for (const spec of profileSpecs(profile)) root.appendChild(profilePart(spec, profile, ctx, sink));

    const exemptions = h('section', {class: 'card', id: 'tax-exemptions', 'aria-labelledby': 'tax-exemptions-title'});
    const locations = h('section', {class: 'card', id: 'locations', 'aria-labelledby': 'locations-title'});
    const agreement = h('section', {class: 'card', id: 'agreement', 'aria-labelledby': 'agreement-title'});
    root.append(exemptions, locations, agreement);

    const reload = async (reply) => {
      const fresh = await readProfile(ctx, reply && reply.min_position ? {min_position: reply.min_position} : undefined);
      if (!ctx.isCurrent()) return;
      drawExemptions(fresh);
      drawLocations(fresh);
      drawAgreement(fresh);
    };

    // -- tax exemptions
    const drawExemptions = (p) => {
      replace(exemptions, h('h2', {id: 'tax-exemptions-title'}, t('settings.exemptions')));
      if (withheld.includes('tax_exemptions')) {
        exemptions.appendChild(h('p', {class: 'notice'}, t('settings.withheldPart')));
        return;
      }
      const manage = can(me, 'manage_billing');
      const list = p.tax_exemptions || [];
      const slot = h('div', {class: 'stack', id: 'exemption-step'});
      if (!list.length) {
        exemptions.appendChild(h('p', {}, t('settings.exemptionsNone')));
      } else {
        exemptions.appendChild(h('div', {class: 'table-wrap'}, h('table', {id: 'exemptions-table'},
          h('caption', {class: 'visually-hidden'}, t('settings.exemptions')),
          h('thead', {}, h('tr', {},
            ['settings.jurisdiction', 'settings.certificate', 'settings.validFrom', 'settings.expiresOn', 'settings.filedAt',
              'settings.exState'].map((k) => h('th', {scope: 'col'}, t(k))),
            manage ? h('th', {scope: 'col'}, t('settings.actions')) : null)),
          h('tbody', {}, list.map((e) => h('tr', {dataset: {exemption: e.exemption_id}},
            h('td', {}, e.jurisdiction), h('td', {}, e.certificate_ref),
            h('td', {}, formatDate(e.valid_from)), h('td', {}, formatDate(e.expires_on)),
            h('td', {}, e.filed_at ? formatDateTime(e.filed_at) : '—'),
            h('td', {}, stateBadge(e.state), e.revoked && e.revoked_reason ? h('div', {class: 'field-help'},
              t('settings.revokedReason', {reason: e.revoked_reason})) : null),
            manage ? h('td', {}, e.revoked ? null : h('div', {class: 'actions'},
              h('button', {type: 'button', class: 'danger', dataset: {action: 'revoke'},
                'aria-label': t('settings.revokeOf', {ref: e.certificate_ref}),
                onclick: inlineStep(slot, (close) => revokeForm(e, close))}, t('settings.revoke')),
              h('button', {type: 'button', dataset: {action: 'renew'},
                'aria-label': t('settings.renewOf', {ref: e.certificate_ref}),
                onclick: inlineStep(slot, (close) => renewForm(e, close))}, t('settings.renew')))) : null))))));
      }
      exemptions.appendChild(slot);
      exemptions.appendChild(onDateBlock());
      if (manage) {
        exemptions.appendChild(h('h3', {}, t('settings.file')));
        exemptions.appendChild(withId('file-exemption', form({submitLabel: t('settings.fileSubmit'), class: 'stack', onsubmit: async (formEl) => {
          const v = values(formEl);
          const reply = await api.command('FileTaxExemption', {partner_id: ctx.partner, ...v});
          await reload(reply);
          announce(t('settings.filed'));
          return t('settings.filed');
        }}, h('div', {class: 'grid'},
          field({label: t('settings.jurisdiction'), name: 'jurisdiction', required: true, maxlength: 100}),
          field({label: t('settings.certificate'), name: 'certificate_ref', required: true, maxlength: 200}),
          field({label: t('settings.validFrom'), name: 'valid_from', ...DATE}),
          field({label: t('settings.expiresOn'), name: 'expires_on', ...DATE})))));
      }
    };

    const revokeForm = (e, close) => form({submitLabel: t('settings.revokeConfirm'), danger: true, class: 'stack confirm-step',
      onsubmit: async (formEl) => {
        const reply = await api.command('RevokeTaxExemption', {partner_id: ctx.partner, exemption_id: e.exemption_id,
          reason: values(formEl).reason});
        close();
        await reload(reply);
        announce(t('settings.revoked'));
      }},
    h('h3', {}, t('settings.revokeOf', {ref: e.certificate_ref})),
    field({label: t('settings.revokeReason', {ref: e.certificate_ref}), name: 'reason', maxlength: 500}),
    cancelButton(close));

    const renewForm = (e, close) => form({submitLabel: t('settings.renewSubmit'), class: 'stack confirm-step',
      onsubmit: async (formEl) => {
        const reply = await api.command('RenewTaxExemption', {partner_id: ctx.partner, exemption_id: e.exemption_id,
          ...values(formEl)});
        close();
        await reload(reply);
        announce(t('settings.renewed'));
      }},
    h('h3', {}, t('settings.renewOf', {ref: e.certificate_ref})),
    h('div', {class: 'grid'},
      field({label: t('settings.newCertificate'), name: 'certificate_ref', required: true, maxlength: 200}),
      field({label: t('settings.validFrom'), name: 'valid_from', ...DATE,
        value: String(e.expires_on || '').slice(0, 10)}),
      field({label: t('settings.expiresOn'), name: 'expires_on', ...DATE})),
    cancelButton(close));

    // Which exemptions applied on a date: the server's answer (profile?date=,
    // or for the operator state?as_of= at the end of that day).
    const onDateBlock = () => {
      const out = h('div', {id: 'exemptions-on-date', role: 'status', 'aria-live': 'polite'});
      const block = h('div', {class: 'stack'}, h('h3', {}, t('settings.onDate')),
        withId('on-date-form', form({submitLabel: t('settings.show'), class: 'row', onsubmit: async (formEl) => {
          const date = values(formEl).date;
          const p = await readProfile(ctx, {date});
          const list = p.tax_exemptions || [];
          const active = list.filter((e) => e.state === 'active');
          const day = formatDate(`${date}T00:00:00Z`);
          replace(out,
            h('p', {class: 'on-date-summary'}, active.length ?
              t('settings.onDateActive', {date: day, list: active.map((e) => `${e.jurisdiction} ${e.certificate_ref}`).join(', ')}) :
              t('settings.onDateNoneActive', {date: day})),
            list.length ? h('ul', {class: 'on-date-list'}, list.map((e) => h('li', {dataset: {exemption: e.exemption_id, state: e.state}},
              `${e.jurisdiction} · ${e.certificate_ref}: `, stateBadge(e.state)))) : null);
        }}, field({label: t('settings.date'), name: 'date', ...DATE,
          help: t('settings.onDateHelp'), value: new Date().toISOString().slice(0, 10)}))),
        out);
      return block;
    };

    // -- locations
    const drawLocations = (p) => {
      replace(locations, h('h2', {id: 'locations-title'}, t('settings.locations')));
      const manage = can(me, 'manage_locations');
      const list = p.locations || [];
      const slot = h('div', {id: 'location-step'});
      const where = (l) => [l.address.line1, l.address.city, l.address.country].filter(Boolean).join(', ');
      if (!list.length) {
        locations.appendChild(h('p', {}, t('settings.locationsNone')));
      } else {
        locations.appendChild(h('div', {class: 'table-wrap'}, h('table', {id: 'locations-table'},
          h('caption', {class: 'visually-hidden'}, t('settings.locations')),
          h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, t('settings.address')),
            h('th', {scope: 'col'}, t('settings.locationMpn')), manage ? h('th', {scope: 'col'}, t('settings.actions')) : null)),
          h('tbody', {}, list.map((l) => h('tr', {dataset: {location: l.location_id}},
            h('td', {}, [l.address.line1, l.address.line2, l.address.city, l.address.state, l.address.postal_code,
              l.address.country].filter(Boolean).join(', ')),
            h('td', {}, l.mpn_id),
            manage ? h('td', {}, h('button', {type: 'button', class: 'danger', 'aria-label': t('settings.removeOf', {where: where(l)}),
              onclick: inlineStep(slot, (close) => form({submitLabel: t('settings.removeConfirm', {where: where(l)}), danger: true,
                class: 'stack confirm-step', onsubmit: async () => {
                  const reply = await api.command('RemoveLocation', {partner_id: ctx.partner, location_id: l.location_id});
                  close();
                  await reload(reply);
                  announce(t('settings.removed'));
                }}, cancelButton(close)))}, t('settings.remove'))) : null))))));
      }
      locations.appendChild(slot);
      if (manage) {
        locations.appendChild(h('h3', {}, t('settings.add')));
        locations.appendChild(form({submitLabel: t('settings.add'), onsubmit: async (formEl) => {
          const reply = await api.command('AddLocation', {partner_id: ctx.partner, ...values(formEl)});
          await reload(reply);
          announce(t('settings.added'));
          return t('settings.added');
        }}, h('div', {class: 'grid'},
          group('address', ADDRESS, {country: {value: profile.country}}).map((f) =>
            field({label: t(f.label), name: f.name, required: f.required, maxlength: f.maxlength, value: f.value})),
          field({label: t('settings.locationMpn'), name: 'mpn_id', required: true, maxlength: 10, inputmode: 'numeric'}))));
      }
    };

    // -- the reseller agreement
    const drawAgreement = (p) => {
      const s = p.selling || {};
      replace(agreement, h('h2', {id: 'agreement-title'}, t('settings.agreement')),
        h('p', {id: 'agreement-state'}, s.agreement_accepted_at ?
          t('settings.agreementAccepted', {version: s.agreement_version, date: formatDateTime(s.agreement_accepted_at)}) :
          t('settings.agreementNone')));
      if (can(me, 'accept_reseller_agreement')) {
        agreement.appendChild(form({submitLabel: t('settings.accept'), onsubmit: async (formEl) => {
          const reply = await api.command('AcceptResellerAgreement', {partner_id: ctx.partner, ...values(formEl)});
          await reload(reply);
          announce(t('settings.acceptedNow'));
        }}, field({label: t('settings.agreementVersion'), name: 'agreement_version', required: true, maxlength: 32,
          help: t('settings.agreementHelp'), value: s.agreement_version || ''})));
      }
    };

    drawExemptions(profile);
    drawLocations(profile);
    drawAgreement(profile);
  },
};

function withId(id, el) {
  el.id = id;
  return el;
}

function stateBadge(state) {
  const cls = state === 'active' ? 'badge good' : state === 'revoked' || state === 'expired' ? 'badge bad' : 'badge';
  return h('span', {class: cls, dataset: {state}}, t(`settings.exState.${state}`));
}

