// Pricing: a market's price lists for a month (GET /v1/pricing/{market}/{currency}?date=),
// the next month's preview (/preview), the diff of two months (/diff), and an
// offer's price history (/offers/{offer_id}/history) drawn as an SVG line chart
// with a data table beside it. The market, currency and month are in the
// page's address (#/pricing?market=US&currency=USD&month=2026-12).
import {h, replace, announce} from './dom.js';
import {api, can} from './api.js';
import {t, addMessages, formatMoney, formatMonth, formatDate} from './i18n.js';
import {field, form, values, section, errorBox, fieldError} from './forms.js';
import {lineChart} from './chart.js';

const MARKET = /^[A-Z]{2}$/;
const CURRENCY = /^[A-Z]{3}$/;
const MONTH = /^[0-9]{4}-(0[1-9]|1[0-2])$/;

addMessages({
  en: {
    'pricing.pick': 'Market, currency and month',
    'pricing.market': 'Market (ISO country code)',
    'pricing.currency': 'Currency (ISO code)',
    'pricing.month': 'Month (YYYY-MM)',
    'pricing.show': 'Show prices',
    'pricing.badMarket': 'must be a two-letter ISO country code, such as US',
    'pricing.badCurrency': 'must be a three-letter ISO currency code, such as USD',
    'pricing.badMonth': 'must be a month written YYYY-MM, such as 2026-12',
    'pricing.search': 'Search offers by name or id',
    'pricing.searchHelp': 'Filters the tables on this page.',
    'pricing.matches': '{count} offers match.',
    'pricing.current': 'Price lists of {month}',
    'pricing.preview': 'Preview of {month}',
    'pricing.noLists': 'No price list of {market} in {currency} is in effect this month.',
    'pricing.noPreview': 'No list of the following month is published yet.',
    'pricing.listCaption': '{month} · {model} · published {published}',
    'pricing.model.usage_based': 'usage-based',
    'pricing.model.license_based': 'license-based',
    'pricing.col.offer': 'Offer',
    'pricing.col.id': 'Offer id',
    'pricing.col.change': 'Change',
    'pricing.col.valid': 'Valid',
    'pricing.col.unit': 'Purchase unit',
    'pricing.col.list': 'List price',
    'pricing.col.erp': 'ERP price',
    'pricing.col.history': 'History',
    'pricing.col.difference': 'Difference',
    'pricing.col.month': 'Month',
    'pricing.historyOf': 'History: {name}',
    'pricing.showHistory': 'History',
    'pricing.diff': 'Compare two months',
    'pricing.fromMonth': 'From month (YYYY-MM)',
    'pricing.toMonth': 'To month (YYYY-MM)',
    'pricing.compare': 'Compare',
    'pricing.diffTitle': 'Changes from {from} to {to}',
    'pricing.added': 'Added',
    'pricing.changed': 'Changed',
    'pricing.removed': 'Removed',
    'pricing.noDiff': 'No offer changed.',
    'pricing.history': 'Offer price history',
    'pricing.offerId': 'Offer id',
    'pricing.showChart': 'Show history',
    'pricing.noHistory': 'No price list of this market and currency names offer {offer}.',
    'pricing.chartTitle': 'Prices of {name} in {market}, {currency}',
    'pricing.chartDesc': 'List and ERP prices per month, from {from} to {to}; the table below holds the same data.',
    'pricing.tableCaption': 'Prices of {name} per month',
    'pricing.listSeries': 'List price',
    'pricing.erpSeries': 'ERP price',
    'pricing.loaded': 'Prices of {market} in {currency} for {month} shown.',
    'pricing.historyLoaded': 'Price history of {name} shown.',
    'change.ADD': 'Added',
    'change.CHG': 'Changed',
    'change.DEL': 'Deleted',
    'change.UNC': 'Unchanged',
  },
  ja: {
    'pricing.pick': 'マーケット、通貨、月',
    'pricing.market': 'マーケット (ISO 国コード)',
    'pricing.currency': '通貨 (ISO コード)',
    'pricing.month': '月 (YYYY-MM)',
    'pricing.show': '価格を表示',
    'pricing.badMarket': 'US のような 2 文字の ISO 国コードを入力してください',
    'pricing.badCurrency': 'USD のような 3 文字の ISO 通貨コードを入力してください',
    'pricing.badMonth': '2026-12 のように YYYY-MM 形式で月を入力してください',
    'pricing.search': '名前または ID でオファーを検索',
    'pricing.searchHelp': 'このページの表を絞り込みます。',
    'pricing.matches': '{count} 件のオファーが一致しました。',
    'pricing.current': '{month} の価格表',
    'pricing.preview': '{month} のプレビュー',
    'pricing.noLists': '今月有効な {market} の {currency} 建て価格表はありません。',
    'pricing.noPreview': '翌月の価格表はまだ公開されていません。',
    'pricing.listCaption': '{month} · {model} · {published} 公開',
    'pricing.model.usage_based': '従量課金',
    'pricing.model.license_based': 'ライセンス課金',
    'pricing.col.offer': 'オファー',
    'pricing.col.id': 'オファー ID',
    'pricing.col.change': '変更',
    'pricing.col.valid': '有効期間',
    'pricing.col.unit': '購入単位',
    'pricing.col.list': '定価',
    'pricing.col.erp': 'ERP 価格',
    'pricing.col.history': '履歴',
    'pricing.col.difference': '差分',
    'pricing.col.month': '月',
    'pricing.historyOf': '履歴: {name}',
    'pricing.showHistory': '履歴',
    'pricing.diff': '2 つの月を比較',
    'pricing.fromMonth': '比較元の月 (YYYY-MM)',
    'pricing.toMonth': '比較先の月 (YYYY-MM)',
    'pricing.compare': '比較',
    'pricing.diffTitle': '{from} から {to} への変更',
    'pricing.added': '追加',
    'pricing.changed': '変更',
    'pricing.removed': '削除',
    'pricing.noDiff': '変更されたオファーはありません。',
    'pricing.history': 'オファーの価格履歴',
    'pricing.offerId': 'オファー ID',
    'pricing.showChart': '履歴を表示',
    'pricing.noHistory': 'このマーケットと通貨の価格表にはオファー {offer} がありません。',
    'pricing.chartTitle': '{market} における {name} の価格 ({currency})',
    'pricing.chartDesc': '{from} から {to} までの月ごとの定価と ERP 価格。下の表にも同じデータがあります。',
    'pricing.tableCaption': '{name} の月ごとの価格',
    'pricing.listSeries': '定価',
    'pricing.erpSeries': 'ERP 価格',
    'pricing.loaded': '{month} の {market} の {currency} 建て価格を表示しました。',
    'pricing.historyLoaded': '{name} の価格履歴を表示しました。',
    'change.ADD': '追加',
    'change.CHG': '変更',
    'change.DEL': '削除',
    'change.UNC': '変更なし',
  },
});

function thisMonth() {
  return new Date().toISOString().slice(0, 7);
}

function parseMonth(m) {
  const [y, mm] = m.split('-').map(Number);
  return {y, m: mm};
}

function addMonths(m, n) {
  const {y, m: mm} = parseMonth(m);
  const d = new Date(Date.UTC(y, mm - 1 + n, 1));
  return d.toISOString().slice(0, 7);
}

function monthLabel(m) {
  const {y, m: mm} = parseMonth(m);
  return formatMonth(y, mm);
}


export default {
  id: 'pricing',
  nav: 'nav.pricing',
  visible: (me) => can(me, 'read_price_lists'),
  needsPartner: false,
  async render(root, ctx) {
    const {params} = ctx;
    const market = (params.get('market') || 'US').toUpperCase();
    const currency = (params.get('currency') || 'USD').toUpperCase();
    const month = MONTH.test(params.get('month') || '') ? params.get('month') : thisMonth();
    const base = `/v1/pricing/${encodeURIComponent(market)}/${encodeURIComponent(currency)}`;

    root.appendChild(h('h1', {}, t('nav.pricing')));

    // The pickers: they change the page's address, which renders it again.
    const picker = form({submitLabel: t('pricing.show'), class: 'row', onsubmit: async (el) => {
      const v = values(el);
      const m = v.market.trim().toUpperCase();
      const c = v.currency.trim().toUpperCase();
      const mo = v.month.trim();
      if (!MARKET.test(m)) throw fieldError(t('pricing.badMarket'), 'market');
      if (!CURRENCY.test(c)) throw fieldError(t('pricing.badCurrency'), 'currency');
      if (!MONTH.test(mo)) throw fieldError(t('pricing.badMonth'), 'month');
      ctx.navigate('pricing', {market: m, currency: c, month: mo});
    }},
    field({label: t('pricing.market'), name: 'market', value: market, autocomplete: 'off'}),
    field({label: t('pricing.currency'), name: 'currency', value: currency, autocomplete: 'off'}),
    field({label: t('pricing.month'), name: 'month', value: month, autocomplete: 'off', inputmode: 'numeric'}));
    picker.id = 'pricing-pick';
    root.appendChild(section(t('pricing.pick'), picker));

    const search = field({label: t('pricing.search'), name: 'search', type: 'search', help: t('pricing.searchHelp'),
      autocomplete: 'off'});
    search.input.dataset.skip = '1';
    search.input.id = 'offer-search';
    search.querySelector('label').setAttribute('for', 'offer-search');
    const matches = h('p', {class: 'field-help', id: 'search-count', role: 'status', 'aria-live': 'polite'});
    const filter = () => {
      const q = search.input.value.trim().toLowerCase();
      let count = 0;
      const seen = new Set();
      for (const row of root.querySelectorAll('tr[data-offer]')) {
        const hit = !q || row.dataset.offer.toLowerCase().includes(q) || (row.dataset.name || '').toLowerCase().includes(q);
        row.hidden = !hit;
        if (hit && !seen.has(row.dataset.offer)) {
          seen.add(row.dataset.offer);
          count += 1;
        }
      }
      matches.textContent = q ? t('pricing.matches', {count}) : '';
    };
    for (const ev of ['input', 'change', 'search']) search.input.addEventListener(ev, filter);
    root.appendChild(h('div', {class: 'card stack pricing-search'}, search, matches));

    const currentBox = section(t('pricing.current', {month: monthLabel(month)}));
    currentBox.id = 'pricing-current';
    const nextMonth = addMonths(month, 1);
    const previewBox = section(t('pricing.preview', {month: monthLabel(nextMonth)}));
    previewBox.id = 'pricing-preview';
    const diffResult = h('div', {id: 'diff-result'});
    const diffForm = form({submitLabel: t('pricing.compare'), class: 'row', onsubmit: async (el) => {
      const v = values(el);
      const from = v.from_month.trim();
      const to = v.to_month.trim();
      if (!MONTH.test(from)) throw fieldError(t('pricing.badMonth'), 'from_month');
      if (!MONTH.test(to)) throw fieldError(t('pricing.badMonth'), 'to_month');
      const diff = await api.get(`${base}/diff`, {from_month: from, to_month: to});
      if (!ctx.isCurrent()) return undefined;
      replace(diffResult, diffTables(diff, from, to));
      filter();
      return t('pricing.diffTitle', {from: monthLabel(from), to: monthLabel(to)});
    }},
    field({label: t('pricing.fromMonth'), name: 'from_month', value: month, autocomplete: 'off'}),
    field({label: t('pricing.toMonth'), name: 'to_month', value: nextMonth, autocomplete: 'off'}));
    diffForm.id = 'diff-form';
    const diffBox = section(t('pricing.diff'), diffForm, diffResult);
    diffBox.id = 'pricing-diff';

    const historyResult = h('div', {id: 'history-result'});
    const historyField = field({label: t('pricing.offerId'), name: 'offer_id', value: params.get('offer') || '',
      autocomplete: 'off'});
    const historyForm = form({submitLabel: t('pricing.showChart'), class: 'row', onsubmit: async (el) => {
      const offer = values(el).offer_id.trim();
      const name = await showHistory(offer);
      return name ? t('pricing.historyLoaded', {name}) : undefined;
    }}, historyField);
    historyForm.id = 'history-form';
    const historyBox = section(t('pricing.history'), historyForm, historyResult);
    historyBox.id = 'pricing-history';
    const historyHeading = historyBox.querySelector('h2');
    historyHeading.setAttribute('tabindex', '-1');

    root.append(currentBox, previewBox, diffBox, historyBox);

    function listTables(lists, box, emptyText) {
      if (!lists.length) return box.appendChild(h('p', {}, emptyText));
      for (const l of lists) {
        const head = l.list;
        box.appendChild(h('div', {class: 'table-wrap'}, h('table', {class: 'price-list'},
          h('caption', {}, t('pricing.listCaption', {month: formatMonth(head.year, head.month),
            model: t(`pricing.model.${head.billing_model}`), published: formatDate(head.published_at)})),
          h('thead', {}, h('tr', {},
            h('th', {scope: 'col'}, t('pricing.col.offer')), h('th', {scope: 'col'}, t('pricing.col.id')),
            h('th', {scope: 'col'}, t('pricing.col.change')), h('th', {scope: 'col'}, t('pricing.col.valid')),
            h('th', {scope: 'col'}, t('pricing.col.unit')),
            h('th', {scope: 'col', class: 'num'}, t('pricing.col.list')), h('th', {scope: 'col', class: 'num'}, t('pricing.col.erp')),
            h('th', {scope: 'col'}, t('pricing.col.history')))),
          h('tbody', {}, (l.rows || []).map((r) => h('tr', {dataset: {offer: r.offer_id, name: r.offer_display_name}},
            h('th', {scope: 'row'}, r.offer_display_name), h('td', {}, h('code', {}, r.offer_id)),
            h('td', {}, t(`change.${r.change_code}`)),
            h('td', {}, `${formatDate(r.valid_from)} – ${formatDate(r.valid_to)}`),
            h('td', {}, r.purchase_unit),
            h('td', {class: 'num'}, formatMoney(r.list_price_micros, head.currency)),
            h('td', {class: 'num'}, formatMoney(r.erp_price_micros, head.currency)),
            h('td', {}, h('button', {type: 'button', class: 'link', dataset: {history: r.offer_id},
              'aria-label': t('pricing.historyOf', {name: r.offer_display_name}),
              onclick: async () => {
                historyField.input.value = r.offer_id;
                try {
                  await showHistory(r.offer_id);
                } catch (err) {
                  replace(historyResult, errorBox(err));
                }
                historyHeading.focus();
              }}, t('pricing.showHistory')))))))));
      }
      return box;
    }

    function diffRow(kind, before, after) {
      const r = after || before;
      const money = (row, key) => (row ? formatMoney(row[key], currency) : '—');
      const cell = (key) => (before && after && before[key] !== after[key] ?
        h('td', {class: 'num'}, h('span', {class: 'diff-before'}, money(before, key)), ' ',
          h('span', {class: 'diff-after'}, money(after, key))) :
        h('td', {class: 'num'}, money(r, key)));
      return h('tr', {dataset: {offer: r.offer_id, name: r.offer_display_name, kind}},
        h('td', {}, h('span', {class: `badge ${kind === 'removed' ? 'bad' : kind === 'added' ? 'good' : ''}`}, t(`pricing.${kind}`))),
        h('th', {scope: 'row'}, r.offer_display_name), h('td', {}, h('code', {}, r.offer_id)),
        cell('list_price_micros'), cell('erp_price_micros'));
    }

    function diffTables(diff, from, to) {
      const rows = [
        ...(diff.added || []).map((r) => diffRow('added', null, r)),
        ...(diff.changed || []).map((c) => diffRow('changed', c.before, c.after)),
        ...(diff.removed || []).map((r) => diffRow('removed', r, null)),
      ];
      if (!rows.length) return h('p', {}, t('pricing.noDiff'));
      return h('div', {class: 'table-wrap'}, h('table', {class: 'price-diff'},
        h('caption', {}, t('pricing.diffTitle', {from: monthLabel(from), to: monthLabel(to)})),
        h('thead', {}, h('tr', {},
          h('th', {scope: 'col'}, t('pricing.col.difference')), h('th', {scope: 'col'}, t('pricing.col.offer')),
          h('th', {scope: 'col'}, t('pricing.col.id')), h('th', {scope: 'col', class: 'num'}, t('pricing.col.list')),
          h('th', {scope: 'col', class: 'num'}, t('pricing.col.erp')))),
        h('tbody', {}, rows)));
    }

    // The chart and its table; returns the offer's name (or null if none).
    async function showHistory(offer) {
      if (!/^[A-Za-z0-9-]{1,64}$/.test(offer)) throw fieldError(t('pricing.noHistory', {offer}), 'offer_id');
      const entries = await api.get(`${base}/offers/${encodeURIComponent(offer)}/history`);
      if (!ctx.isCurrent()) return null;
      if (!entries.length) {
        replace(historyResult, h('p', {}, t('pricing.noHistory', {offer})));
        return null;
      }
      const name = entries[entries.length - 1].row.offer_display_name;
      const cur = entries[0].list.currency;
      const points = entries.map((e) => ({label: formatMonth(e.list.year, e.list.month),
        values: [e.row.list_price_micros, e.row.erp_price_micros]}));
      const chart = lineChart({
        title: t('pricing.chartTitle', {name, market, currency: cur}),
        description: t('pricing.chartDesc', {from: points[0].label, to: points[points.length - 1].label}),
        points,
        series: [{name: t('pricing.listSeries'), class: 'list'}, {name: t('pricing.erpSeries'), class: 'erp'}],
        formatY: (v) => formatMoney(Math.round(v), cur),
      });
      chart.id = 'history-chart';
      const table = h('div', {class: 'table-wrap'}, h('table', {id: 'history-table'},
        h('caption', {}, t('pricing.tableCaption', {name})),
        h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, t('pricing.col.month')),
          h('th', {scope: 'col'}, t('pricing.col.change')),
          h('th', {scope: 'col', class: 'num'}, t('pricing.col.list')), h('th', {scope: 'col', class: 'num'}, t('pricing.col.erp')))),
        h('tbody', {}, entries.map((e) => h('tr', {},
          h('th', {scope: 'row'}, formatMonth(e.list.year, e.list.month)), h('td', {}, t(`change.${e.row.change_code}`)),
          h('td', {class: 'num'}, formatMoney(e.row.list_price_micros, e.list.currency)),
          h('td', {class: 'num'}, formatMoney(e.row.erp_price_micros, e.list.currency)))))));
      replace(historyResult, h('figure', {class: 'history-figure'}, chart), table);
      announce(t('pricing.historyLoaded', {name}));
      return name;
    }

    const date = `${month}-01`;
    const [current, preview] = await Promise.all([
      api.get(base, {date}).catch((err) => err),
      api.get(`${base}/preview`, {date}).catch((err) => err),
    ]);
    if (!ctx.isCurrent()) return;
    if (current instanceof Error) currentBox.appendChild(errorBox(current));
    else listTables(current, currentBox, t('pricing.noLists', {market, currency}));
    if (preview instanceof Error) previewBox.appendChild(errorBox(preview));
    else listTables(preview, previewBox, t('pricing.noPreview'));
    filter();
    if (params.get('offer')) {
      try {
        await showHistory(params.get('offer'));
      } catch (err) {
        replace(historyResult, errorBox(err));
      }
    }
    announce(t('pricing.loaded', {market, currency, month: monthLabel(month)}));
  },
};
