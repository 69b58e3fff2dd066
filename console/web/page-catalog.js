// Catalog: the offers the partner sees (GET /v1/partners/{id}/catalog), its
// pinned offers first. A user with pin_offers pins up to 5 (PinOffer), unpins
// (UnpinOffer) and reorders them with Move up / Move down buttons
// (ReorderPins): keyboard first, focus stays on the moved offer, each move is
// announced. Why an offer cannot be pinned: the readiness blockers that refuse
// PinOffer, the limit of 5, an unavailable pin's reason, and the API's refusal.
import {h, replace, announce} from './dom.js';
import {api, can} from './api.js';
import {t, addMessages, formatDate} from './i18n.js';
import {field, form, values, section, errorBox} from './forms.js';
import './labels.js';

const MAX_PINS = 5;

addMessages({
  en: {
    'catalog.market': 'Market {market}, as of {date}.',
    'catalog.pinned': 'Pinned offers',
    'catalog.pinnedHelp': 'Pinned offers come first in the catalog, in this order. At most {max} offers may be pinned.',
    'catalog.noPins': 'No offer is pinned.',
    'catalog.offers': 'Offers you can order',
    'catalog.noOffers': 'No other offer can be ordered now.',
    'catalog.segment.enterprise': 'Enterprise',
    'catalog.segment.small_business': 'Small business',
    'catalog.segment.government': 'Government',
    'catalog.billing.usage_based': 'Usage-based',
    'catalog.billing.license_based': 'License-based',
    'catalog.col.offer': 'Offer',
    'catalog.col.id': 'Offer id',
    'catalog.col.billing': 'Billing',
    'catalog.col.unit': 'Purchase unit',
    'catalog.col.action': 'Action',
    'catalog.moveUp': 'Move up',
    'catalog.moveDown': 'Move down',
    'catalog.moveUpName': 'Move up: {name}',
    'catalog.moveDownName': 'Move down: {name}',
    'catalog.unpin': 'Unpin',
    'catalog.unpinName': 'Unpin: {name}',
    'catalog.pin': 'Pin',
    'catalog.pinName': 'Pin: {name}',
    'catalog.pinnedAlready': 'Pinned',
    'catalog.moved': '{name} moved to position {position} of {count}.',
    'catalog.pinnedDone': '{name} pinned at position {position}.',
    'catalog.unpinnedDone': '{name} unpinned.',
    'catalog.full': '{max} offers are pinned, the most allowed: unpin one to pin another.',
    'catalog.unavailable': 'Not orderable now',
    'catalog.available': 'Orderable',
    'catalog.blocked': 'Offers cannot be pinned now:',
    'catalog.blockerClears': 'Cleared with {command}',
    'catalog.pinById': 'Pin an offer by its id',
    'catalog.pinByIdHelp': 'For an offer not listed above: the API says why it cannot be pinned.',
    'catalog.offerId': 'Offer id',
    'catalog.readOnly': 'Your roles let you read the catalog, not pin offers.',
  },
  ja: {
    'catalog.market': 'マーケット {market}、{date} 時点。',
    'catalog.pinned': 'ピン留めされたオファー',
    'catalog.pinnedHelp': 'ピン留めしたオファーはカタログの先頭にこの順序で表示されます。ピン留めできるのは最大 {max} 件です。',
    'catalog.noPins': 'ピン留めされたオファーはありません。',
    'catalog.offers': '注文できるオファー',
    'catalog.noOffers': '現在注文できるオファーはほかにありません。',
    'catalog.segment.enterprise': 'エンタープライズ',
    'catalog.segment.small_business': '中小企業',
    'catalog.segment.government': '官公庁',
    'catalog.billing.usage_based': '従量課金',
    'catalog.billing.license_based': 'ライセンス課金',
    'catalog.col.offer': 'オファー',
    'catalog.col.id': 'オファー ID',
    'catalog.col.billing': '課金',
    'catalog.col.unit': '購入単位',
    'catalog.col.action': '操作',
    'catalog.moveUp': '上へ移動',
    'catalog.moveDown': '下へ移動',
    'catalog.moveUpName': '上へ移動: {name}',
    'catalog.moveDownName': '下へ移動: {name}',
    'catalog.unpin': 'ピン留めを解除',
    'catalog.unpinName': 'ピン留めを解除: {name}',
    'catalog.pin': 'ピン留め',
    'catalog.pinName': 'ピン留め: {name}',
    'catalog.pinnedAlready': 'ピン留め済み',
    'catalog.moved': '{name} を {count} 件中 {position} 番目に移動しました。',
    'catalog.pinnedDone': '{name} を {position} 番目にピン留めしました。',
    'catalog.unpinnedDone': '{name} のピン留めを解除しました。',
    'catalog.full': 'すでに上限の {max} 件がピン留めされています。別のオファーをピン留めするには、どれかの解除が必要です。',
    'catalog.unavailable': '現在は注文できません',
    'catalog.available': '注文可能',
    'catalog.blocked': '現在オファーをピン留めできません:',
    'catalog.blockerClears': '解消するコマンド: {command}',
    'catalog.pinById': 'ID を指定してオファーをピン留め',
    'catalog.pinByIdHelp': '上の一覧にないオファー用です。ピン留めできない場合は API がその理由を返します。',
    'catalog.offerId': 'オファー ID',
    'catalog.readOnly': 'あなたのロールではカタログの閲覧のみ可能で、オファーのピン留めはできません。',
  },
});

function nameOf(offer) {
  return offer.display_name || offer.offer_id;
}

export default {
  id: 'catalog',
  nav: 'nav.catalog',
  visible: (me) => can(me, 'read_catalog'),
  needsPartner: true,
  async render(root, ctx) {
    const {me, partner} = ctx;
    const mayPin = can(me, 'pin_offers');
    root.appendChild(h('h1', {}, t('nav.catalog')));
    const status = h('p', {class: 'visually-hidden', id: 'catalog-status', role: 'status', 'aria-live': 'polite'});
    const body = h('div', {id: 'catalog-body'});
    root.append(status, body);

    const say = (message) => {
      status.textContent = message;
      announce(message);
    };

    function restoreFocus({offer, dir}) {
      const li = body.querySelector(`li[data-offer="${CSS.escape(offer || '')}"]`);
      let target = null;
      if (li) {
        const same = li.querySelector(`button[data-move="${dir}"]`);
        const other = li.querySelector(`button[data-move="${dir === 'up' ? 'down' : 'up'}"]`);
        target = same && !same.disabled ? same : other && !other.disabled ? other : li.querySelector('button');
      }
      if (!target) target = body.querySelector('#pins button, #pins-heading');
      if (target) target.focus();
    }

    function draw(catalog, readiness) {
      const pins = [...(catalog.pinned || [])].sort((a, b) => a.rank - b.rank);
      const ids = pins.map((p) => p.offer_id);
      const full = pins.length >= MAX_PINS;
      const blockers = readiness ? (readiness.blockers || []).filter((b) => b.refuses_pin_offer) : [];
      const parts = [h('p', {}, t('catalog.market', {market: catalog.market, date: formatDate(catalog.date)}))];

      if (!mayPin) parts.push(h('p', {class: 'notice'}, t('catalog.readOnly')));
      if (blockers.length) {
        parts.push(h('div', {class: 'notice', id: 'pin-blockers', role: 'note'}, h('p', {}, t('catalog.blocked')),
          h('ul', {}, blockers.map((b) => h('li', {dataset: {code: b.code}}, b.message, ' — ',
            t('catalog.blockerClears', {command: b.clears_with}))))));
      }

      // The pins.
      const fullNote = full && mayPin ? h('p', {class: 'notice', id: 'pins-full'}, t('catalog.full', {max: MAX_PINS})) : null;
      const list = pins.length ? h('ol', {class: 'pins', id: 'pins'}, pins.map((p, i) => {
        const name = nameOf(p);
        return h('li', {dataset: {offer: p.offer_id}},
          h('div', {class: 'pin-row'},
            h('span', {class: 'pin-name'}, name, ' ', h('code', {}, p.offer_id)),
            p.available === false ?
              h('span', {class: 'badge bad'}, t('catalog.unavailable'), p.unavailable_reason ? `: ${p.unavailable_reason}` : '') :
              h('span', {class: 'badge good'}, t('catalog.available')),
            mayPin ? h('span', {class: 'actions pin-actions'},
              h('button', {type: 'button', dataset: {move: 'up'}, disabled: i === 0,
                'aria-label': t('catalog.moveUpName', {name}), onclick: () => move(ids, i, -1, name)}, t('catalog.moveUp')),
              h('button', {type: 'button', dataset: {move: 'down'}, disabled: i === pins.length - 1,
                'aria-label': t('catalog.moveDownName', {name}), onclick: () => move(ids, i, 1, name)}, t('catalog.moveDown')),
              h('button', {type: 'button', class: 'danger', dataset: {unpin: p.offer_id},
                'aria-label': t('catalog.unpinName', {name}), onclick: () => unpin(p.offer_id, name)}, t('catalog.unpin'))) : null));
      })) : h('p', {id: 'pins'}, t('catalog.noPins'));
      const pinSection = section(t('catalog.pinned'), h('p', {class: 'field-help'}, t('catalog.pinnedHelp', {max: MAX_PINS})),
        fullNote, list);
      pinSection.id = 'pinned-offers';
      pinSection.querySelector('h2').id = 'pins-heading';
      pinSection.querySelector('h2').setAttribute('tabindex', '-1');
      pinSection.setAttribute('aria-labelledby', 'pins-heading');
      parts.push(pinSection);

      // The orderable offers, by segment.
      const segments = (catalog.segments || []).filter((s) => s.offers && s.offers.length);
      const offersSection = section(t('catalog.offers'), segments.length ? segments.map((s) => [
        h('h3', {}, t(`catalog.segment.${s.segment}`)),
        h('div', {class: 'table-wrap'}, h('table', {dataset: {segment: s.segment}},
          h('thead', {}, h('tr', {},
            h('th', {scope: 'col'}, t('catalog.col.offer')), h('th', {scope: 'col'}, t('catalog.col.id')),
            h('th', {scope: 'col'}, t('catalog.col.billing')), h('th', {scope: 'col'}, t('catalog.col.unit')),
            mayPin ? h('th', {scope: 'col'}, t('catalog.col.action')) : null)),
          h('tbody', {}, s.offers.map((o) => h('tr', {dataset: {offer: o.offer_id}},
            h('td', {}, nameOf(o)), h('td', {}, h('code', {}, o.offer_id)),
            h('td', {}, t(`catalog.billing.${o.billing_model}`)), h('td', {}, o.purchase_unit),
            mayPin ? h('td', {}, ids.includes(o.offer_id) ? h('span', {class: 'badge'}, t('catalog.pinnedAlready')) :
              pinButton(o, full, blockers.length > 0)) : null))))),
      ]) : h('p', {}, t('catalog.noOffers')));
      offersSection.id = 'catalog-offers';
      parts.push(offersSection);

      if (mayPin) parts.push(pinByIdForm());
      replace(body, parts);
    }

    function pinButton(offer, full, blocked) {
      const name = nameOf(offer);
      const describedBy = [full ? 'pins-full' : null, blocked ? 'pin-blockers' : null].filter(Boolean).join(' ');
      const error = h('span', {class: 'field-error pin-error', id: `pin-error-${offer.offer_id}`, hidden: true});
      const button = h('button', {type: 'button', class: 'primary', dataset: {pin: offer.offer_id},
        'aria-label': t('catalog.pinName', {name}), 'aria-describedby': [describedBy, error.id].filter(Boolean).join(' '),
        onclick: async () => {
          error.hidden = true;
          error.textContent = '';
          button.disabled = true;
          try {
            await api.command('PinOffer', {partner_id: partner, offer_id: offer.offer_id});
          } catch (err) {
            // The API says why (a blocker, the limit of 5, not orderable).
            button.disabled = false;
            error.textContent = err.message;
            error.hidden = false;
            say(err.message);
            return;
          }
          const catalog = await reload();
          const position = catalog ? (catalog.pinned || []).findIndex((p) => p.offer_id === offer.offer_id) + 1 : 0;
          say(t('catalog.pinnedDone', {name, position}));
          const li = body.querySelector(`li[data-offer="${CSS.escape(offer.offer_id)}"] button`);
          if (li) li.focus();
        }}, t('catalog.pin'));
      return h('span', {class: 'pin-cell'}, button, ' ', error);
    }

    function pinByIdForm() {
      const offerField = field({label: t('catalog.offerId'), name: 'offer_id', help: t('catalog.pinByIdHelp'),
        autocomplete: 'off'});
      const f = form({submitLabel: t('catalog.pin'), onsubmit: async (el) => {
        const {offer_id: offerId} = values(el);
        await api.command('PinOffer', {partner_id: partner, offer_id: offerId.trim()});
        await reload();
        const message = t('catalog.pinnedDone', {name: offerId.trim(), position: '—'});
        say(message);
        return message;
      }}, offerField);
      f.id = 'pin-by-id';
      return section(t('catalog.pinById'), f);
    }

    async function reload(focus) {
      const catalog = await api.get(`/v1/partners/${encodeURIComponent(partner)}/catalog`);
      let readiness = null;
      if (mayPin && can(me, 'read_sales_readiness')) {
        readiness = await api.get(`/v1/partners/${encodeURIComponent(partner)}/readiness`).catch(() => null);
      }
      if (!ctx.isCurrent()) return catalog;
      draw(catalog, readiness);
      if (focus) restoreFocus(focus);
      return catalog;
    }

    async function move(ids, index, delta, name) {
      const to = index + delta;
      if (to < 0 || to >= ids.length) return;
      const order = [...ids];
      [order[index], order[to]] = [order[to], order[index]];
      try {
        await api.command('ReorderPins', {partner_id: partner, offer_ids: order});
      } catch (err) {
        say(err.message);
        body.prepend(errorBox(err));
        return;
      }
      const offer = ids[index];
      const catalog = await reload({offer, dir: delta < 0 ? 'up' : 'down'});
      const pins = catalog ? [...(catalog.pinned || [])].sort((a, b) => a.rank - b.rank) : [];
      const position = pins.findIndex((p) => p.offer_id === offer) + 1;
      say(t('catalog.moved', {name, position, count: pins.length}));
    }

    async function unpin(offerId, name) {
      try {
        await api.command('UnpinOffer', {partner_id: partner, offer_id: offerId});
      } catch (err) {
        say(err.message);
        body.prepend(errorBox(err));
        return;
      }
      await reload();
      const heading = body.querySelector('#pins-heading');
      if (heading) heading.focus();
      say(t('catalog.unpinnedDone', {name}));
    }

    await reload();
  },
};
