// Business profiles: one per region the partner is authorized in (GET
// /v1/partners/{id}/profile: authorized_regions, business_profiles). Create
// (CreateBusinessProfile) or edit (UpdateBusinessProfile, which replaces the
// details: the form carries them all), publish and unpublish, and the region's
// locations (AddProfileLocation, RemoveProfileLocation). The rules (logo,
// 2,500-character description, 5 industries, 5 locations) are stated in the
// form; the API enforces them and its refusal lands at the field it names.
import {h, replace, announce, uid} from './dom.js';
import {api, can} from './api.js';
import {t, addMessages, formatNumber, formatDateTime} from './i18n.js';
import {field, form, values, section, errorBox} from './forms.js';

const MAX_DESCRIPTION = 2500;
const MAX_INDUSTRIES = 5;
const MAX_LOCATIONS = 5;
const SIZES = ['1-9', '10-49', '50-249', '250-999', '1000+'];

addMessages({
  en: {
    'profiles.intro': 'One business profile per region the partner is authorized in. A published profile is listed in the public partner directory.',
    'profiles.rules': 'Rules: the logo is a GIF, JPG or PNG image at most 300 pixels wide; the description has at most 2,500 characters; at most 5 industries; at most 5 locations per region.',
    'profiles.noRegions': 'The partner is not authorized in any region yet: the operator sets the authorized regions.',
    'profiles.region': 'Region {region}',
    'profiles.published': 'Published',
    'profiles.draft': 'Not published',
    'profiles.none': 'No profile',
    'profiles.notAuthorized': 'Region no longer authorized',
    'profiles.changedAt': 'Last changed {at}',
    'profiles.noProfile': 'This region has no business profile yet.',
    'profiles.create': 'Create profile',
    'profiles.save': 'Save profile',
    'profiles.created': 'Profile for region {region} created.',
    'profiles.saved': 'Profile for region {region} saved.',
    'profiles.publish': 'Publish',
    'profiles.unpublish': 'Unpublish',
    'profiles.publishName': 'Publish: region {region}',
    'profiles.unpublishName': 'Unpublish: region {region}',
    'profiles.publishedDone': 'The profile of region {region} is published.',
    'profiles.unpublishedDone': 'The profile of region {region} is no longer published.',
    'profiles.logo': 'Logo',
    'profiles.logoHelp': 'GIF, JPG or PNG, at most 300 pixels wide. The image itself is uploaded elsewhere; give its reference.',
    'profiles.logoFormat': 'Logo format',
    'profiles.logoNone': 'No logo',
    'profiles.logoWidth': 'Logo width (pixels, 1–300)',
    'profiles.logoRef': 'Logo image reference',
    'profiles.description': 'Description',
    'profiles.counter': '{count} of {max} characters',
    'profiles.counterOver': '{count} of {max} characters: {over} over the limit',
    'profiles.website': 'Website',
    'profiles.websiteHelp': 'The full address, starting with http or https.',
    'profiles.linkedin': 'LinkedIn company page',
    'profiles.linkedinHelp': 'A company page: an address that starts with https and www.linkedin.com/company/.',
    'profiles.industries': 'Industry focus',
    'profiles.industriesHelp': 'One per line, at most 5.',
    'profiles.products': 'Products',
    'profiles.productsHelp': 'Offer ids from the catalog, one per line.',
    'profiles.services': 'Service types',
    'profiles.skills': 'Skills',
    'profiles.tagsHelp': 'One per line, at most 20.',
    'profiles.endorse': 'Allow the vendor to endorse our areas of expertise',
    'profiles.sizes': 'Target customer sizes (employees)',
    'profiles.refuse': 'Refuse referrals from customers outside the target sizes',
    'profiles.locations': 'Locations',
    'profiles.locationsHelp': 'At most 5 locations per region ({count} of 5 used). To change an address, remove the location and add it again.',
    'profiles.noLocations': 'No location yet.',
    'profiles.remove': 'Remove',
    'profiles.removeName': 'Remove: {city}',
    'profiles.removed': 'Location in {city} removed.',
    'profiles.addLocation': 'Add location',
    'profiles.added': 'Location in {city} added.',
    'profiles.line1': 'Address line 1',
    'profiles.line2': 'Address line 2',
    'profiles.city': 'City',
    'profiles.state': 'State (2 letters)',
    'profiles.postal': 'Postal code',
    'profiles.country': 'Country (ISO code, e.g. US)',
    'profiles.addrRegion': 'Area',
    'profiles.phone': 'Phone',
  },
  ja: {
    'profiles.intro': 'ビジネス プロファイルは、パートナーが承認されている地域ごとに 1 つ作成できます。公開したプロファイルは公開パートナー ディレクトリに掲載されます。',
    'profiles.rules': 'ルール: ロゴは幅 300 ピクセル以下の GIF、JPG、PNG 画像。説明は 2,500 文字以内。業種は 5 つまで。所在地は 1 地域につき 5 か所まで。',
    'profiles.noRegions': 'パートナーはまだどの地域でも承認されていません。承認地域はオペレーターが設定します。',
    'profiles.region': '地域 {region}',
    'profiles.published': '公開中',
    'profiles.draft': '非公開',
    'profiles.none': 'プロファイルなし',
    'profiles.notAuthorized': '承認されなくなった地域',
    'profiles.changedAt': '最終更新 {at}',
    'profiles.noProfile': 'この地域にはまだビジネス プロファイルがありません。',
    'profiles.create': 'プロファイルを作成',
    'profiles.save': 'プロファイルを保存',
    'profiles.created': '地域 {region} のプロファイルを作成しました。',
    'profiles.saved': '地域 {region} のプロファイルを保存しました。',
    'profiles.publish': '公開',
    'profiles.unpublish': '非公開にする',
    'profiles.publishName': '公開: 地域 {region}',
    'profiles.unpublishName': '非公開にする: 地域 {region}',
    'profiles.publishedDone': '地域 {region} のプロファイルを公開しました。',
    'profiles.unpublishedDone': '地域 {region} のプロファイルを非公開にしました。',
    'profiles.logo': 'ロゴ',
    'profiles.logoHelp': 'GIF、JPG、PNG 形式で幅 300 ピクセル以下。画像は別の場所にアップロードし、その参照を入力してください。',
    'profiles.logoFormat': 'ロゴの形式',
    'profiles.logoNone': 'ロゴなし',
    'profiles.logoWidth': 'ロゴの幅 (ピクセル、1～300)',
    'profiles.logoRef': 'ロゴ画像の参照',
    'profiles.description': '説明',
    'profiles.counter': '{count} / {max} 文字',
    'profiles.counterOver': '{count} / {max} 文字: {over} 文字超過しています',
    'profiles.website': 'Web サイト',
    'profiles.websiteHelp': 'http または https で始まる完全なアドレス。',
    'profiles.linkedin': 'LinkedIn の会社ページ',
    'profiles.linkedinHelp': '会社ページのアドレス (https で始まる www.linkedin.com/company/ のページ)。',
    'profiles.industries': '重点業種',
    'profiles.industriesHelp': '1 行に 1 つ、5 つまで。',
    'profiles.products': '製品',
    'profiles.productsHelp': 'カタログのオファー ID を 1 行に 1 つ。',
    'profiles.services': 'サービスの種類',
    'profiles.skills': 'スキル',
    'profiles.tagsHelp': '1 行に 1 つ、20 個まで。',
    'profiles.endorse': 'ベンダーによる専門分野の推薦を許可する',
    'profiles.sizes': '対象顧客の規模 (従業員数)',
    'profiles.refuse': '対象規模外の顧客からの紹介を受け付けない',
    'profiles.locations': '所在地',
    'profiles.locationsHelp': '所在地は 1 地域につき 5 か所まで (現在 {count} か所)。住所を変更するには、所在地を削除してから追加し直してください。',
    'profiles.noLocations': '所在地はまだありません。',
    'profiles.remove': '削除',
    'profiles.removeName': '削除: {city}',
    'profiles.removed': '{city} の所在地を削除しました。',
    'profiles.addLocation': '所在地を追加',
    'profiles.added': '{city} の所在地を追加しました。',
    'profiles.line1': '住所 1 行目',
    'profiles.line2': '住所 2 行目',
    'profiles.city': '市区町村',
    'profiles.state': '州 (2 文字)',
    'profiles.postal': '郵便番号',
    'profiles.country': '国 (ISO コード、例: JP)',
    'profiles.addrRegion': 'エリア',
    'profiles.phone': '電話番号',
  },
});

// Code points, as the server counts them.
export function codePoints(text) {
  let n = 0;
  for (const _ of text) n += 1; // eslint-disable-line no-unused-vars
  return n;
}

function listField(spec) {
  const f = field({...spec, type: 'textarea', rows: 3, value: (spec.value || []).join('\n')});
  f.input.dataset.list = '1';
  return f;
}

// The description with its live counter (aria-live, polite).
function descriptionField(value) {
  const f = field({label: t('profiles.description'), name: 'details.description', type: 'textarea', rows: 6, value});
  const counterId = uid('counter');
  const counter = h('p', {class: 'counter', id: counterId, 'aria-live': 'polite'});
  const update = () => {
    const count = codePoints(f.input.value);
    const over = count > MAX_DESCRIPTION;
    counter.classList.toggle('over', over);
    counter.dataset.count = String(count);
    counter.textContent = over ?
      t('profiles.counterOver', {count: formatNumber(count), max: formatNumber(MAX_DESCRIPTION),
        over: formatNumber(count - MAX_DESCRIPTION)}) :
      t('profiles.counter', {count: formatNumber(count), max: formatNumber(MAX_DESCRIPTION)});
  };
  f.input.addEventListener('input', update);
  f.input.setAttribute('aria-describedby', `${counterId} ${f.input.getAttribute('aria-describedby')}`);
  f.insertBefore(counter, f.querySelector('.field-error'));
  update();
  return f;
}

function detailsFields(d) {
  const logo = d.logo || {};
  const logoFormat = field({label: t('profiles.logoFormat'), name: 'details.logo.format', value: logo.format || '',
    options: [['', t('profiles.logoNone')], ['gif', 'GIF'], ['jpg', 'JPG'], ['png', 'PNG']]});
  const logoWidth = field({label: t('profiles.logoWidth'), name: 'details.logo.width_px', type: 'number', min: 1, max: 300,
    value: logo.width_px ?? ''});
  logoWidth.input.dataset.number = '1';
  const logoRef = field({label: t('profiles.logoRef'), name: 'details.logo.image_ref', value: logo.image_ref || ''});
  const sizes = d.target_customer_sizes || [];
  const sizeBoxes = SIZES.map((s) => {
    const id = uid('size');
    return h('span', {class: 'radio'},
      h('input', {type: 'checkbox', id, value: s, checked: sizes.includes(s), dataset: {field: `details.target_customer_sizes.${s}`, skip: '1', size: s}}),
      h('label', {for: id}, s));
  });
  return [
    h('fieldset', {class: 'stack'}, h('legend', {}, t('profiles.logo')), h('p', {class: 'field-help'}, t('profiles.logoHelp')),
      h('div', {class: 'row'}, logoFormat, logoWidth, logoRef)),
    descriptionField(d.description || ''),
    h('div', {class: 'grid'},
      field({label: t('profiles.website'), name: 'details.website', type: 'url', value: d.website || '', help: t('profiles.websiteHelp')}),
      field({label: t('profiles.linkedin'), name: 'details.linkedin_url', type: 'url', value: d.linkedin_url || '',
        help: t('profiles.linkedinHelp')})),
    h('div', {class: 'grid'},
      listField({label: t('profiles.industries'), name: 'details.industry_focus', value: d.industry_focus, help: t('profiles.industriesHelp')}),
      listField({label: t('profiles.products'), name: 'details.products', value: d.products, help: t('profiles.productsHelp')}),
      listField({label: t('profiles.services'), name: 'details.service_types', value: d.service_types, help: t('profiles.tagsHelp')}),
      listField({label: t('profiles.skills'), name: 'details.skills', value: d.skills, help: t('profiles.tagsHelp')})),
    field({label: t('profiles.endorse'), name: 'details.allow_vendor_endorsement', type: 'checkbox', value: d.allow_vendor_endorsement}),
    h('fieldset', {}, h('legend', {}, t('profiles.sizes')), h('div', {class: 'row'}, sizeBoxes)),
    field({label: t('profiles.refuse'), name: 'details.refuse_referrals_outside_target_sizes', type: 'checkbox',
      value: d.refuse_referrals_outside_target_sizes}),
  ];
}

// The form's details as the command wants them (all of them: Update replaces).
function detailsOf(formEl) {
  const d = values(formEl).details || {};
  const logo = d.logo || {};
  d.logo = logo.format ? {format: logo.format, width_px: logo.width_px, image_ref: logo.image_ref} : null;
  d.target_customer_sizes = [...formEl.querySelectorAll('input[data-size]')].filter((i) => i.checked).map((i) => i.dataset.size);
  return d;
}

export default {
  id: 'profiles',
  nav: 'nav.profiles',
  visible: (me) => can(me, 'manage_business_profiles'),
  needsPartner: true,
  async render(root, ctx) {
    const {partner} = ctx;
    root.appendChild(h('h1', {}, t('nav.profiles')));
    root.appendChild(h('p', {}, t('profiles.intro')));
    root.appendChild(h('p', {class: 'notice', id: 'profile-rules'}, t('profiles.rules')));
    const body = h('div', {id: 'profiles-body'});
    root.appendChild(body);

    async function reload(focusCss) {
      const profile = await api.get(`/v1/partners/${encodeURIComponent(partner)}/profile`);
      if (!ctx.isCurrent()) return;
      draw(profile);
      if (focusCss) {
        const el = body.querySelector(focusCss);
        if (el) el.focus();
      }
    }

    function draw(profile) {
      const authorized = profile.authorized_regions || [];
      const byRegion = new Map((profile.business_profiles || []).map((p) => [p.region, p]));
      const regions = [...new Set([...authorized, ...byRegion.keys()])].sort();
      if (!regions.length) return replace(body, h('p', {class: 'notice'}, t('profiles.noRegions')));
      replace(body, regions.map((r) => regionCard(r, byRegion.get(r), authorized.includes(r))));
    }

    function regionCard(region, bp, isAuthorized) {
      const headingId = `profile-${region}-heading`;
      const state = !bp ? h('span', {class: 'badge'}, t('profiles.none')) :
        bp.published ? h('span', {class: 'badge good', dataset: {state: 'published'}}, t('profiles.published')) :
          h('span', {class: 'badge', dataset: {state: 'draft'}}, t('profiles.draft'));
      const header = h('div', {class: 'row profile-head'},
        h('h2', {id: headingId, tabindex: '-1'}, t('profiles.region', {region})), state,
        isAuthorized ? null : h('span', {class: 'badge bad'}, t('profiles.notAuthorized')),
        bp && bp.changed_at ? h('span', {class: 'field-help'}, t('profiles.changedAt', {at: formatDateTime(bp.changed_at)})) : null);
      const card = h('section', {class: 'card stack', id: `profile-${region}`, 'aria-labelledby': headingId}, header);
      if (!bp) {
        card.append(h('p', {}, t('profiles.noProfile')), detailsForm(region, null));
        return card;
      }
      card.append(publishControls(region, bp), detailsForm(region, bp), locations(region, bp));
      return card;
    }

    function publishControls(region, bp) {
      const publish = !bp.published;
      const button = h('button', {type: 'button', class: publish ? 'primary' : 'danger', id: `${publish ? 'publish' : 'unpublish'}-${region}`,
        'aria-label': t(publish ? 'profiles.publishName' : 'profiles.unpublishName', {region})},
      t(publish ? 'profiles.publish' : 'profiles.unpublish'));
      const error = h('div', {class: 'form-error', role: 'alert', hidden: true});
      button.addEventListener('click', async () => {
        error.hidden = true;
        button.disabled = true;
        try {
          await api.command(publish ? 'PublishBusinessProfile' : 'UnpublishBusinessProfile', {partner_id: partner, region});
        } catch (err) {
          button.disabled = false;
          error.textContent = err.message;
          error.hidden = false;
          return;
        }
        await reload(`#${publish ? 'unpublish' : 'publish'}-${region}`);
        announce(t(publish ? 'profiles.publishedDone' : 'profiles.unpublishedDone', {region}));
      });
      return h('div', {class: 'actions'}, button, error);
    }

    function detailsForm(region, bp) {
      const create = !bp;
      const f = form({submitLabel: t(create ? 'profiles.create' : 'profiles.save'), onsubmit: async (el) => {
        await api.command(create ? 'CreateBusinessProfile' : 'UpdateBusinessProfile',
          {partner_id: partner, region, details: detailsOf(el)});
        const message = t(create ? 'profiles.created' : 'profiles.saved', {region});
        if (create) {
          await reload(`#profile-${region}-heading`);
          announce(message);
          return undefined;
        }
        return message;
      }}, detailsFields(bp ? bp.details || {} : {}));
      f.classList.add('profile-form');
      f.dataset.region = region;
      return f;
    }

    function locations(region, bp) {
      const locs = bp.locations || [];
      const headingId = `locations-${region}-heading`;
      const list = locs.length ? h('ul', {class: 'locations'}, locs.map((l) => {
        const a = l.address || {};
        const text = [a.line1, a.line2, a.city, a.state, a.postal_code, a.country].filter(Boolean).join(', ');
        return h('li', {dataset: {location: l.location_id}}, h('span', {}, text, l.phone ? ` · ${l.phone}` : ''), ' ',
          h('button', {type: 'button', class: 'link', 'aria-label': t('profiles.removeName', {city: a.city}),
            onclick: async (e) => {
              e.target.disabled = true;
              try {
                await api.command('RemoveProfileLocation', {partner_id: partner, region, location_id: l.location_id});
              } catch (err) {
                e.target.disabled = false;
                e.target.parentNode.appendChild(errorBox(err));
                return;
              }
              await reload(`#${headingId}`);
              announce(t('profiles.removed', {city: a.city}));
            }}, t('profiles.remove')));
      })) : h('p', {}, t('profiles.noLocations'));
      const add = form({submitLabel: t('profiles.addLocation'), onsubmit: async (el) => {
        const v = values(el);
        await api.command('AddProfileLocation', {partner_id: partner, region, address: v.address, phone: v.phone});
        await reload(`#${headingId}`);
        announce(t('profiles.added', {city: v.address.city}));
        return undefined;
      }}, h('div', {class: 'grid'},
        field({label: t('profiles.line1'), name: 'address.line1', autocomplete: 'off'}),
        field({label: t('profiles.line2'), name: 'address.line2', autocomplete: 'off'}),
        field({label: t('profiles.city'), name: 'address.city', autocomplete: 'off'}),
        field({label: t('profiles.state'), name: 'address.state', autocomplete: 'off'}),
        field({label: t('profiles.postal'), name: 'address.postal_code', autocomplete: 'off'}),
        field({label: t('profiles.country'), name: 'address.country', autocomplete: 'off'}),
        field({label: t('profiles.addrRegion'), name: 'address.region', autocomplete: 'off'}),
        field({label: t('profiles.phone'), name: 'phone', type: 'tel', autocomplete: 'off'})));
      add.classList.add('location-form');
      return h('div', {class: 'stack'},
        h('h3', {id: headingId, tabindex: '-1'}, t('profiles.locations')),
        h('p', {class: 'field-help'}, t('profiles.locationsHelp', {count: locs.length})),
        list, add);
    }

    await reload();
  },
};
