// Audit: a partner's timeline (who did what, when, through which command, and
// what it changed), the state as of a time or a log position (and its JSON),
// the partner's export (the server's, as acct export writes it), and what the
// log's signed checkpoint says (checked in this browser
// where WebCrypto can). Everything is replayed from the log by the server
// (docs/audit.md); the console only shows it.
import {h, replace, clear, announce} from './dom.js';
import {api, can} from './api.js';
import {t, addMessages, formatDateTime, formatNumber} from './i18n.js';
import {field, form, section, errorBox, showError, clearErrors, fieldError} from './forms.js';
import {parseCheckpoint, verifyConsistency, parsePublicKey, verifyNoteSignature} from './audit-verify.js';

addMessages({
  en: {
    'audit.partner': 'Partner {id}',
    'audit.timeline': 'Timeline',
    'audit.fromTime': 'From (UTC)',
    'audit.toTime': 'To (UTC)',
    'audit.timeHelp': 'A date (2026-11-24) or a UTC time (2026-11-24T13:00:00Z); empty for no bound.',
    'audit.pageSize': 'Entries per page',
    'audit.show': 'Show',
    'audit.position': 'Position',
    'audit.when': 'When',
    'audit.who': 'Who',
    'audit.what': 'Command and event',
    'audit.changes': 'Changes',
    'audit.field': 'Field',
    'audit.before': 'Before',
    'audit.after': 'After',
    'audit.noChanges': 'No field changed.',
    'audit.commandId': 'Command {id}',
    'audit.operatorActor': 'the operator ({actor})',
    'audit.stateAfter': 'State after #{position}',
    'audit.firstPage': 'First page',
    'audit.nextPage': 'Next page',
    'audit.empty': 'No entries in this range.',
    'audit.showing': 'Positions {first}–{last}, {count} entries.',
    'audit.state': 'State as of a time or a position',
    'audit.asOf': 'As of (UTC)',
    'audit.atPosition': 'After log position',
    'audit.stateHelp': 'Give a time or a position (with both, the earlier point wins; with neither, the head).',
    'audit.showState': 'Show the state',
    'audit.stateOf': 'The state after position {position} ({time}).',
    'audit.stateNone': 'No event of this partner at that point.',
    'audit.partnerName': 'Partner name',
    'audit.mpnId': 'MPN id',
    'audit.vetting': 'Vetting',
    'audit.suspended': 'Suspended',
    'audit.regions': 'Authorized regions',
    'audit.competencies': 'Competencies',
    'audit.endorsements': 'Endorsements',
    'audit.support': 'Support email',
    'audit.agreement': 'Reseller agreement accepted',
    'audit.pins': 'Pinned offers',
    'audit.users': 'Users',
    'audit.profiles': 'Business profiles',
    'audit.fullJson': 'The whole state (JSON)',
    'audit.downloadState': 'Download this state (JSON)',
    'audit.export': 'Export',
    'audit.exportHelp': 'Every event of the partner with its envelope, and a trailer with the log\'s head and the latest signed checkpoint: the file acct export writes. Check it against the log with acct verify-export.',
    'audit.exportJsonl': 'Download the export (JSON lines)',
    'audit.exportCsv': 'Download the export (CSV)',
    'audit.exported': '{file} is ready ({size} bytes).',
    'audit.verification': 'Verification of the log',
    'audit.head': 'Log head',
    'audit.headRoot': 'Root hash at the head',
    'audit.checkpoint': 'Last signed checkpoint',
    'audit.origin': 'Origin',
    'audit.treeSize': 'Tree size',
    'audit.root': 'Root hash',
    'audit.signedAt': 'Signed at',
    'audit.keyId': 'Key id',
    'audit.noCheckpoint': 'The log has not signed a checkpoint yet (it signs every minute when the head moved).',
    'audit.consistency': 'The head extends the checkpoint',
    'audit.consistencyOk': 'Verified in this browser: the tree of {to} entries contains the signed tree of {from} (RFC 9162 consistency proof).',
    'audit.consistencyBad': 'FAILED: the consistency proof from {from} to {to} does not verify against the signed root.',
    'audit.publicKey': 'The log\'s public key',
    'audit.publicKeyHelp': 'From acct keys export-public (ed25519:…), kept apart from the server; it is used in this browser only.',
    'audit.checkSignature': 'Check the signature',
    'audit.signatureOk': 'Signature valid: this key signed the checkpoint.',
    'audit.signatureBad': 'Signature INVALID for this key.',
    'audit.signatureUnsupported': 'This browser cannot check Ed25519 signatures: use acct audit watch.',
    'audit.badKey': 'Not a key: paste the line acct keys export-public prints.',
    'audit.cliHelp': 'The full checks (every record, the hash chain, every checkpoint, witnesses) run with acct verify on the data folder and acct audit watch against a running log.',
    'audit.checkpointText': 'The signed note',
  },
  ja: {
    'audit.partner': 'パートナー {id}',
    'audit.timeline': 'タイムライン',
    'audit.fromTime': '開始 (UTC)',
    'audit.toTime': '終了 (UTC)',
    'audit.timeHelp': '日付 (2026-11-24) または UTC 時刻 (2026-11-24T13:00:00Z)。空欄なら制限なし。',
    'audit.pageSize': '1 ページの件数',
    'audit.show': '表示',
    'audit.position': '位置',
    'audit.when': '日時',
    'audit.who': '実行者',
    'audit.what': 'コマンドとイベント',
    'audit.changes': '変更',
    'audit.field': 'フィールド',
    'audit.before': '変更前',
    'audit.after': '変更後',
    'audit.noChanges': '変更されたフィールドはありません。',
    'audit.commandId': 'コマンド {id}',
    'audit.operatorActor': 'オペレーター ({actor})',
    'audit.stateAfter': '#{position} 時点の状態',
    'audit.firstPage': '最初のページ',
    'audit.nextPage': '次のページ',
    'audit.empty': 'この範囲にエントリはありません。',
    'audit.showing': '位置 {first}～{last}、{count} 件。',
    'audit.state': '指定した時刻または位置の状態',
    'audit.asOf': '時刻 (UTC)',
    'audit.atPosition': 'ログ位置の後',
    'audit.stateHelp': '時刻または位置を指定します (両方なら早い方、どちらもなければ最新)。',
    'audit.showState': '状態を表示',
    'audit.stateOf': '位置 {position} ({time}) の後の状態です。',
    'audit.stateNone': 'その時点ではこのパートナーのイベントはありません。',
    'audit.partnerName': 'パートナー名',
    'audit.mpnId': 'MPN ID',
    'audit.vetting': '審査',
    'audit.suspended': '停止中',
    'audit.regions': '承認済み地域',
    'audit.competencies': 'コンピテンシー',
    'audit.endorsements': 'エンドースメント',
    'audit.support': 'サポートのメール',
    'audit.agreement': 'リセラー契約の同意日時',
    'audit.pins': 'ピン留めしたオファー',
    'audit.users': 'ユーザー',
    'audit.profiles': 'ビジネス プロファイル',
    'audit.fullJson': '状態の全体 (JSON)',
    'audit.downloadState': 'この状態をダウンロード (JSON)',
    'audit.export': 'エクスポート',
    'audit.exportHelp': 'パートナーのすべてのイベント (エンベロープ付き) と、ログの先頭および最新の署名済みチェックポイントを記したトレーラー: acct export と同じファイルです。acct verify-export でログと照合できます。',
    'audit.exportJsonl': 'エクスポートをダウンロード (JSON Lines)',
    'audit.exportCsv': 'エクスポートをダウンロード (CSV)',
    'audit.exported': '{file} を用意しました ({size} バイト)。',
    'audit.verification': 'ログの検証',
    'audit.head': 'ログの先頭位置',
    'audit.headRoot': '先頭位置でのルート ハッシュ',
    'audit.checkpoint': '最新の署名済みチェックポイント',
    'audit.origin': 'オリジン',
    'audit.treeSize': 'ツリー サイズ',
    'audit.root': 'ルート ハッシュ',
    'audit.signedAt': '署名日時',
    'audit.keyId': 'キー ID',
    'audit.noCheckpoint': 'ログはまだチェックポイントに署名していません (先頭位置が進んでいれば 1 分ごとに署名します)。',
    'audit.consistency': '先頭位置はチェックポイントを引き継いでいるか',
    'audit.consistencyOk': 'このブラウザーで検証済み: {to} 件のツリーは署名済みの {from} 件のツリーを含んでいます (RFC 9162 の一貫性証明)。',
    'audit.consistencyBad': '失敗: {from} から {to} への一貫性証明が署名済みのルートと一致しません。',
    'audit.publicKey': 'ログの公開鍵',
    'audit.publicKeyHelp': 'acct keys export-public の出力 (ed25519:…) を、サーバーとは別に保管したものを貼り付けてください。このブラウザー内でのみ使用します。',
    'audit.checkSignature': '署名を確認',
    'audit.signatureOk': '署名は有効です: この鍵がチェックポイントに署名しました。',
    'audit.signatureBad': 'この鍵では署名が無効です。',
    'audit.signatureUnsupported': 'このブラウザーは Ed25519 署名を検証できません。acct audit watch を使ってください。',
    'audit.badKey': '鍵ではありません。acct keys export-public が出力する行を貼り付けてください。',
    'audit.cliHelp': '完全な検証 (全レコード、ハッシュ チェーン、全チェックポイント、ウィットネス) は、データ フォルダーに対する acct verify と、稼働中のログに対する acct audit watch で行います。',
    'audit.checkpointText': '署名済みノート',
  },
});

// A value of a change as text: strings as they are, the rest as JSON.
function asText(value) {
  if (value === undefined) return '';
  if (typeof value === 'string') return value === '' ? '""' : value;
  return JSON.stringify(value);
}

function actorOf(entry) {
  if (entry.actor_name) return entry.actor_name;
  if (String(entry.actor).startsWith('operator:')) return t('audit.operatorActor', {actor: entry.actor});
  return entry.actor;
}

// Offers a file to the browser: a Blob behind an object URL on <a download>.
export function download(filename, text, type) {
  const blob = new Blob([text], {type});
  const href = URL.createObjectURL(blob);
  const a = h('a', {href, download: filename, class: 'visually-hidden', tabindex: '-1'}, filename);
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60000);
}

function changesTable(changes) {
  if (!changes || changes.length === 0) return h('p', {class: 'muted'}, t('audit.noChanges'));
  return h('table', {class: 'changes'},
    h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, t('audit.field')), h('th', {scope: 'col'}, t('audit.before')),
      h('th', {scope: 'col'}, t('audit.after')))),
    h('tbody', {}, changes.map((c) => h('tr', {},
      h('th', {scope: 'row'}, h('code', {}, c.path)),
      h('td', {}, h('span', {class: 'diff-before'}, asText(c.before))),
      h('td', {}, h('span', {class: 'diff-after'}, asText(c.after)))))));
}

function listText(list) {
  return list && list.length ? list.join(', ') : t('app.none');
}

function stateFacts(state) {
  const p = state.partner;
  if (!state.last_event || !p) return h('p', {class: 'notice', id: 'state-none'}, t('audit.stateNone'));
  const users = Object.values(state.users || {});
  const profiles = Object.keys(state.business_profiles || {});
  return h('dl', {class: 'facts', id: 'state-facts'},
    h('dt', {}, t('audit.partnerName')), h('dd', {dataset: {key: 'partner_name'}}, p.partner_name),
    h('dt', {}, t('audit.mpnId')), h('dd', {}, p.mpn_id),
    h('dt', {}, t('audit.vetting')), h('dd', {dataset: {key: 'vetting'}}, `${p.vetting.status} / ${p.vetting.sub_status}`),
    h('dt', {}, t('audit.suspended')), h('dd', {dataset: {key: 'suspended'}},
      p.suspended ? h('span', {class: 'badge bad'}, t('app.yes')) : t('app.no')),
    h('dt', {}, t('audit.regions')), h('dd', {dataset: {key: 'authorized_regions'}}, listText(p.authorized_regions)),
    h('dt', {}, t('audit.competencies')), h('dd', {dataset: {key: 'competencies'}}, listText(p.competencies)),
    h('dt', {}, t('audit.endorsements')), h('dd', {}, listText(p.endorsements)),
    h('dt', {}, t('audit.support')), h('dd', {}, p.support ? asText(p.support.email) : '—'),
    h('dt', {}, t('audit.agreement')), h('dd', {}, p.agreement_accepted_at ? formatDateTime(p.agreement_accepted_at) : t('app.no')),
    h('dt', {}, t('audit.pins')), h('dd', {}, listText(p.pinned_offers)),
    h('dt', {}, t('audit.users')), h('dd', {}, h('ul', {class: 'plain'}, users.map((u) => h('li', {},
      u.profile && u.profile.erased ? 'erased' : `${u.profile.first_name} ${u.profile.last_name} <${u.profile.email}>`,
      ` — ${u.status}`, u.roles.length ? ` — ${u.roles.map((r) => t(`role.${r}`)).join(', ')}` : '')))),
    h('dt', {}, t('audit.profiles')), h('dd', {}, listText(profiles)));
}

export default {
  id: 'audit',
  nav: 'nav.audit',
  visible: (me) => can(me, 'read_audit_history'),
  needsPartner: true,
  async render(root, ctx) {
    const partner = ctx.partner;
    const base = `/v1/partners/${encodeURIComponent(partner)}`;
    root.appendChild(h('h1', {}, t('nav.audit')));
    root.appendChild(h('p', {}, t('audit.partner', {id: ''}), h('code', {id: 'audit-partner'}, partner)));

    // ---- the timeline --------------------------------------------------------
    const fromTime = field({label: t('audit.fromTime'), name: 'from_time', help: t('audit.timeHelp'),
      placeholder: '2026-11-24T13:00:00Z', value: ctx.params.get('from_time') || ''});
    const toTime = field({label: t('audit.toTime'), name: 'to_time', placeholder: '2026-11-24T13:00:00Z',
      value: ctx.params.get('to_time') || ''});
    const limit = field({label: t('audit.pageSize'), name: 'limit', value: '25',
      options: [['10', '10'], ['25', '25'], ['100', '100'], ['1000', '1000']]});
    const timelineBox = h('div', {id: 'timeline', 'aria-live': 'polite'});
    const filters = () => ({from_time: fromTime.input.value.trim(), to_time: toTime.input.value.trim()});
    let starts = [];

    async function loadTimeline(from) {
      const query = {...filters(), limit: limit.input.value, from};
      const page = await api.get(`${base}/history`, query);
      if (!ctx.isCurrent()) return;
      const entries = page.entries || [];
      const rows = entries.map((e) => h('tr', {dataset: {position: e.position}},
        h('td', {class: 'num'}, String(e.position)),
        h('td', {}, h('time', {datetime: e.recorded_at}, formatDateTime(e.recorded_at)), h('br'),
          h('small', {class: 'muted'}, e.recorded_at)),
        h('td', {class: 'actor'}, actorOf(e)),
        h('td', {}, h('strong', {class: 'command-type'}, e.command_type || '—'), h('br'),
          h('span', {class: 'event-type'}, e.event_type), h('br'),
          h('small', {class: 'muted'}, t('audit.commandId', {id: e.command_id})), h('br'),
          h('button', {type: 'button', class: 'link', onclick: () => showStateAt({at_position: String(e.position)})}, t('audit.stateAfter', {position: e.position}))),
        h('td', {}, changesTable(e.changes))));
      const nav = h('div', {class: 'actions'},
        starts.length > 0 ? h('button', {type: 'button', id: 'timeline-first', onclick: () => {
          starts = [];
          run(() => loadTimeline(undefined));
        }}, t('audit.firstPage')) : null,
        page.next ? h('button', {type: 'button', id: 'timeline-next', onclick: () => {
          starts.push(page.next);
          run(() => loadTimeline(page.next));
        }}, t('audit.nextPage')) : null);
      replace(timelineBox,
        entries.length ? h('p', {class: 'counter'}, t('audit.showing',
          {first: entries[0].position, last: entries[entries.length - 1].position, count: entries.length})) :
          h('p', {class: 'notice'}, t('audit.empty')),
        entries.length ? h('div', {class: 'table-wrap'}, h('table', {class: 'timeline'},
          h('caption', {class: 'visually-hidden'}, t('audit.timeline')),
          h('thead', {}, h('tr', {}, [t('audit.position'), t('audit.when'), t('audit.who'), t('audit.what'), t('audit.changes')]
            .map((c) => h('th', {scope: 'col'}, c)))),
          h('tbody', {}, rows))) : null,
        nav);
    }

    const filterForm = form({submitLabel: t('audit.show'), class: 'stack', onsubmit: async () => {
      starts = [];
      await loadTimeline(undefined);
    }}, h('div', {class: 'row'}, fromTime, toTime, limit));
    filterForm.id = 'timeline-filter';
    // Errors of the paging buttons land on the filter form (the API names from_time/to_time).
    async function run(fn) {
      clearErrors(filterForm);
      try {
        await fn();
      } catch (err) {
        showError(filterForm, err);
      }
    }
    root.appendChild(section(t('audit.timeline'), filterForm, timelineBox));

    // ---- the state as of -----------------------------------------------------
    const asOf = field({label: t('audit.asOf'), name: 'as_of', placeholder: '2026-11-24T13:00:00Z', help: t('audit.stateHelp')});
    const atPosition = field({label: t('audit.atPosition'), name: 'at_position', type: 'number', min: 0, step: 1});
    const stateBox = h('div', {id: 'state', 'aria-live': 'polite'});
    let lastState = null;
    async function loadState(query) {
      const state = await api.get(`${base}/state`, query);
      if (!ctx.isCurrent()) return;
      lastState = state;
      const point = state.last_event;
      replace(stateBox,
        point ? h('p', {id: 'state-point'}, t('audit.stateOf', {position: point.position, time: formatDateTime(point.recorded_at)})) : null,
        stateFacts(state),
        h('details', {}, h('summary', {}, t('audit.fullJson')), h('pre', {class: 'json', id: 'state-json'}, JSON.stringify(state, null, 2))),
        h('div', {class: 'actions'}, h('button', {type: 'button', id: 'state-download', onclick: () => {
          const at = lastState.last_event ? lastState.last_event.position : 0;
          download(`state-${partner}-${at}.json`, JSON.stringify(lastState, null, 2) + '\n', 'application/json');
        }}, t('audit.downloadState'))));
    }
    const stateForm = form({submitLabel: t('audit.showState'), onsubmit: async () => {
      await loadState({as_of: asOf.input.value.trim(), at_position: atPosition.input.value.trim()});
    }}, h('div', {class: 'row'}, asOf, atPosition));
    stateForm.id = 'state-form';
    const stateSection = section(t('audit.state'), stateForm, stateBox);
    root.appendChild(stateSection);
    function showStateAt(values) {
      asOf.input.value = values.as_of || '';
      atPosition.input.value = values.at_position || '';
      stateForm.requestSubmit();
      stateSection.scrollIntoView({block: 'start'});
    }

    // ---- the export: the server's, verifiable with acct verify-export ----------------
    const exportStatus = h('p', {class: 'form-status', role: 'status', id: 'export-status'});
    const exportError = h('div', {id: 'export-error'});
    async function exportPartner(format) {
      exportStatus.textContent = '';
      clear(exportError);
      try {
        const response = await api.raw(`${base}/export`, {format});
        const text = await response.text();
        const file = `partner-${partner}-export.${format}`;
        download(file, text, format === 'csv' ? 'text/csv' : 'application/x-ndjson');
        exportStatus.textContent = t('audit.exported', {file, size: formatNumber(new Blob([text]).size)});
        announce(exportStatus.textContent);
      } catch (err) {
        exportError.appendChild(errorBox(err));
      }
    }
    root.appendChild(section(t('audit.export'),
      h('p', {}, t('audit.exportHelp')),
      h('div', {class: 'actions'},
        h('button', {type: 'button', id: 'export-jsonl', onclick: () => exportPartner('jsonl')}, t('audit.exportJsonl')),
        h('button', {type: 'button', id: 'export-csv', onclick: () => exportPartner('csv')}, t('audit.exportCsv'))),
      exportStatus, exportError));

    // ---- verification -------------------------------------------------------------
    const verifyBox = h('div', {id: 'verification'});
    const verifySection = section(t('audit.verification'), verifyBox);
    root.appendChild(verifySection);
    async function loadVerification() {
      const health = await api.get('/healthz').catch((err) => (err.status === 503 ? null : Promise.reject(err)));
      const head = health && health.log ? health.log.head : null;
      let note = null;
      let noteText = null;
      try {
        const res = await api.raw('/v1/checkpoints/latest');
        noteText = await res.text();
        note = parseCheckpoint(noteText);
      } catch (err) {
        if (err.status !== 404) throw err;
      }
      let proof = null;
      let consistent = null;
      if (note && head) {
        proof = await api.get('/v1/proofs/consistency', {from: note.size, to: head});
        consistent = proof.from_root === note.rootHex &&
          await verifyConsistency(note.size, head, proof.from_root, proof.to_root, proof.proof || []);
      }
      if (!ctx.isCurrent()) return;
      const sig = note ? note.signatures.find((s) => s.name === note.origin) : null;
      const keyField = field({label: t('audit.publicKey'), name: 'public_key', help: t('audit.publicKeyHelp'),
        placeholder: 'ed25519:…'});
      const sigResult = h('p', {id: 'signature-result', role: 'status'});
      replace(verifyBox,
        h('dl', {class: 'facts'},
          h('dt', {}, t('audit.head')), h('dd', {id: 'verify-head'}, head === null ? '—' : String(head)),
          proof ? [h('dt', {}, t('audit.headRoot')), h('dd', {}, h('code', {id: 'verify-head-root'}, proof.to_root))] : null),
        h('h3', {}, t('audit.checkpoint')),
        note ? h('dl', {class: 'facts', id: 'checkpoint-facts'},
          h('dt', {}, t('audit.origin')), h('dd', {}, h('code', {id: 'checkpoint-origin'}, note.origin)),
          h('dt', {}, t('audit.treeSize')), h('dd', {id: 'checkpoint-size'}, String(note.size)),
          h('dt', {}, t('audit.root')), h('dd', {}, h('code', {id: 'checkpoint-root'}, note.rootHex)),
          h('dt', {}, t('audit.signedAt')), h('dd', {id: 'checkpoint-time'}, note.time ? formatDateTime(note.time) : '—'),
          h('dt', {}, t('audit.keyId')), h('dd', {}, h('code', {}, sig ? sig.keyId : '—')),
          h('dt', {}, t('audit.consistency')), h('dd', {id: 'consistency-result'},
            consistent ? h('span', {class: 'badge good'}, t('audit.consistencyOk', {from: note.size, to: head})) :
              h('span', {class: 'badge bad'}, t('audit.consistencyBad', {from: note.size, to: head})))) :
          h('p', {class: 'notice', id: 'no-checkpoint'}, t('audit.noCheckpoint')),
        note ? h('details', {}, h('summary', {}, t('audit.checkpointText')), h('pre', {class: 'json', id: 'checkpoint-text'}, noteText)) : null,
        note ? form({submitLabel: t('audit.checkSignature'), onsubmit: async () => {
          let key;
          try {
            key = parsePublicKey(keyField.input.value);
          } catch {
            throw fieldError(t('audit.badKey'), 'public_key');
          }
          const r = await verifyNoteSignature(note, key);
          replace(sigResult, !r.supported ? h('span', {class: 'badge bad'}, t('audit.signatureUnsupported')) :
            r.ok ? h('span', {class: 'badge good'}, t('audit.signatureOk')) : h('span', {class: 'badge bad'}, t('audit.signatureBad')));
        }}, keyField) : null,
        sigResult,
        h('p', {}, t('audit.cliHelp')),
        h('div', {class: 'actions'}, h('button', {type: 'button', id: 'verify-refresh', onclick: () => {
          loadVerification().catch((err) => verifyBox.appendChild(errorBox(err)));
        }}, t('app.refresh'))));
    }

    await Promise.all([
      run(() => loadTimeline(undefined)),
      loadVerification().catch((err) => replace(verifyBox, errorBox(err))),
    ]);
  },
};
