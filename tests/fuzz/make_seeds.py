#!/usr/bin/env python3
"""Writes the seed corpora of fuzz_event_payload, fuzz_command_json and
fuzz_http_request from files of the repo (fuzz_log_decoder's come from the
production writer: make_log_seeds.cc). Run by `scripts/fuzz --make-seeds`.

  event_payload: each tests/golden/<Type>.v<N>.bin as "<Type>\\0" <N> <bytes>,
                 and the same with the cipher bit (0x80) set on the version;
  command_json:  each ```json block of docs/commands.md;
  http_request:  requests on every route of server/*_routes.cc, some with a
                 command of docs/commands.md as the body.
"""
import hashlib
import os
import re
import sys

root = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
corpus = os.path.join(root, 'tests', 'fuzz', 'corpus')


def write(target, name, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


# ---- event_payload ----
golden = os.path.join(root, 'tests', 'golden')
types = set()
for name in sorted(os.listdir(golden)):
    m = re.fullmatch(r'(\w+)\.v(\d+)\.bin', name)
    if not m:
        continue
    t, v = m.group(1), int(m.group(2))
    types.add(t)
    data = open(os.path.join(golden, name), 'rb').read()
    write('event_payload', f'{t}.v{v}', t.encode() + b'\0' + bytes([v]) + data)
    write('event_payload', f'{t}.v{v}.cipher', t.encode() + b'\0' + bytes([v | 0x80]) + data)

# ---- command_json ----
docs = open(os.path.join(root, 'docs', 'commands.md'), encoding='utf-8').read()
commands = re.findall(r'```json\n(.*?)```', docs, re.S)
command_types = set()
for i, c in enumerate(commands):
    m = re.search(r'"type"\s*:\s*"(\w+)"', c)
    name = m.group(1) if m else f'block{i}'
    if m:
        command_types.add(m.group(1))
    write('command_json', f'{i:02d}-{name}.json', c.strip().encode())

# ---- http_request ----
uuid = '9b2f6c1e-3d4a-4f5b-8c6d-7e8f90a1b2c3'


def req(method, target, body=b'', token=None, extra=''):
    h = f'{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n'
    if token:
        h += f'Authorization: Bearer {token}\r\n'
    if body:
        h += f'Content-Type: application/json\r\nContent-Length: {len(body)}\r\n'
    h += extra
    return h.encode() + b'\r\n' + body


requests = {
    'healthz': req('GET', '/healthz'),
    'metrics': req('GET', '/metrics'),
    'openapi': req('GET', '/v1/openapi.yaml'),
    'events': req('GET', '/v1/events?from=1&limit=10', token='OPERATOR'),
    'events-filter': req('GET', f'/v1/events?partner={uuid}&type=PartnerEnrolled&min_position=1', token='OPERATOR'),
    'subscribe': req('GET', '/v1/events/subscribe?from=1', token='OPERATOR', extra='Accept: text/event-stream\r\n'),
    'stream': req('GET', f'/v1/streams/partner-{uuid}?from=1&limit=5&direction=backward', token='OPERATOR'),
    'catalog': req('GET', f'/v1/partners/{uuid}/catalog', token='OPERATOR'),
    'users': req('GET', f'/v1/partners/{uuid}/users', token='OPERATOR'),
    'profile': req('GET', f'/v1/partners/{uuid}/profile', token='OPERATOR'),
    'readiness': req('GET', f'/v1/partners/{uuid}/readiness', token='OPERATOR'),
    'history': req('GET', f'/v1/partners/{uuid}/history?limit=3', token='OPERATOR'),
    'pricing': req('GET', '/v1/pricing/US/USD', token='OPERATOR'),
    'rebuild': req('POST', '/v1/views/catalog/rebuild', token='OPERATOR'),
    'checkpoint': req('GET', '/v1/checkpoints/latest'),
    'proof-inclusion': req('GET', '/v1/proofs/inclusion?position=1&tree_size=2', token='OPERATOR'),
    'proof-consistency': req('GET', '/v1/proofs/consistency?from=1&to=2'),
    'cosignature': req('POST', '/v1/checkpoints/cosignatures',
                       'accountable/00\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u2014 w AAAAAAA=\n'.encode()),
    'session': req('POST', '/v1/sessions',
                   b'{"partner_id":"' + uuid.encode() + b'","email":"ada@contoso.example","password":"x"}'),
    'password': req('POST', '/v1/me/password', b'{"old":"a","new":"a-long-new-password"}', token='acct_nope'),
    'me': req('GET', '/v1/me', token='OPERATOR'),
    'me-patch': req('PATCH', '/v1/me', b'{"first_name":"Sam","phone":"+1 425 555 0100"}', token='OPERATOR'),
    'notifications': req('GET', '/v1/me/notifications?unread=true&limit=5&after=12', token='OPERATOR'),
    'notifications-read': req('POST', '/v1/me/notifications/read', b'{"up_to":12,"ids":["13","tax.' +
                              uuid.encode() + b'.1798761600000000"]}', token='OPERATOR'),
    'notifications-subscribe': req('GET', '/v1/me/notifications/subscribe', token='OPERATOR',
                                   extra='Accept: text/event-stream\r\nLast-Event-ID: 12\r\n'),
    'no-token': req('GET', '/v1/events'),
    'bad-escape': req('GET', '/v1/streams/%zz'),
    'percent': req('GET', '/v1/partners/%41%42/catalog?x=%C3%A9&y=a+b&&z', token='OPERATOR'),
    'method': req('DELETE', '/v1/commands'),
    'pipelined': req('GET', '/healthz') + req('GET', '/metrics'),
    'chunked': (b'POST /v1/commands HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer OPERATOR\r\n'
                b'Transfer-Encoding: chunked\r\n\r\n5\r\n{"typ\r\n3\r\ne":1\r\n1\r\n}\r\n0\r\n\r\n'),
    'http10': b'GET /healthz HTTP/1.0\r\n\r\n',
}
for i, c in enumerate(commands):
    m = re.search(r'"type"\s*:\s*"(\w+)"', c)
    if m:
        requests[f'command-{m.group(1)}'] = req('POST', '/v1/commands', c.strip().encode(), token='OPERATOR')
for name, data in requests.items():
    write('http_request', name, data)

# ---- dictionaries: type names for the payload and command fuzzers ----
dict_dir = os.path.join(root, 'tests', 'fuzz', 'dict')
os.makedirs(dict_dir, exist_ok=True)
with open(os.path.join(dict_dir, 'event_payload.dict'), 'w') as f:
    f.write('# Event type names (tests/golden) and the personal-data kinds; make_seeds.py\n')
    for t in sorted(types):
        f.write(f'"{t}\\x00"\n')
    f.write('"\\x00\\x01"\n"\\x01\\x01"\n"\\x00\\x02"\n"\\x01\\x02"\n')
print(f'make_seeds: {len(types)} event types, {len(commands)} commands, {len(requests)} requests')
