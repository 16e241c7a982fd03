// An operator's SMSC for the SMPP driver's tests, built on node-smpp's server (the npm package
// `smpp`, installed by tests/install-lab-deps.sh). node-smpp parses and writes every PDU; this
// script only decides what the SMSC answers. See tests/peers_smpp.py for why this server.
//
//   node tests/smsc_smpp.js --port 0 --system-id oasis --password secret
//
// stdout: one JSON object per line, each with "event" and "at" (unix milliseconds):
//   listening {port}; bind {mode, system_id, system_type, ok}; submit_sm {message_id, source_addr,
//   destination_addr, data_coding, esm_class, registered_delivery, udh (hex IEs), sar {ref,
//   total, seq}, text (decoded by node-smpp), octets}; enquire_link; unbind; closed;
//   receipt_sent {message_id, stat, status}; receipt_held {message_id} (no transceiver bound:
//   kept, as an SMSC does, and sent when one binds); mo_sent {status}; ack {id} per command.
// stdin: one JSON command per line (each answered by an "ack" with the command's "id"):
//   {"cmd": "receipts", "stat": "DELIVRD" | "UNDELIV" | "REJECTD" | "EXPIRED" | null}
//       the receipt sent after each later submit_sm asking for one (null: none);
//   {"cmd": "receipt", "message_id": "...", "stat": "..."}: one receipt now;
//   {"cmd": "mo", "from": "+9665...", "to": "940", "text": "..."}: a citizen's SMS (or "parts":
//       [...] for a long one, each part sent with a concatenation UDH);
//   {"cmd": "drop"}: every connection closed at once, without unbind (a link that fails);
//   {"cmd": "mute_enquire_link", "on": true}: enquire_link left unanswered (a stalled link);
//   {"cmd": "refuse", "status": 88, "count": 1}: the next `count` submit_sm answered with that
//       command_status (88 = 0x58 ESME_RTHROTTLED, 11 = 0x0B ESME_RINVDSTADR) and no id;
//   {"cmd": "garbage"}: a PDU with an unknown command id on the bound connection;
//   {"cmd": "stop"}: close everything and exit.
'use strict';

const smpp = require('smpp');
const readline = require('readline');

const args = {port: '0', 'system-id': 'oasis', password: 'secret', 'receipt-delay-ms': '20'};
for (let i = 2; i < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}

const STATES = {DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5, ACCEPTD: 6, UNKNOWN: 7,
                REJECTD: 8};
let receiptStat = 'DELIVRD';
let muteEnquireLink = false;
const refusals = [];               // command_status for the next submit_sm, in order
let nextId = 0x5a000;
const bound = new Set();          // transceiver sessions: the ones deliver_sm may go to
const held = [];                  // receipts waiting for a transceiver

function emit(event, fields) {
  process.stdout.write(JSON.stringify(Object.assign({event: event, at: Date.now()}, fields)) +
                       '\n');
}

function stamp(date) {
  const p = (n) => String(n).padStart(2, '0');
  return p(date.getUTCFullYear() % 100) + p(date.getUTCMonth() + 1) + p(date.getUTCDate()) +
         p(date.getUTCHours()) + p(date.getUTCMinutes());
}

function receiptFor(session, messageId, stat, to, from) {
  const target = bound.has(session) ? session : firstBound();
  if (!target) {
    held.push([messageId, stat, to, from]);
    emit('receipt_held', {message_id: messageId});
    return;
  }
  sendReceipt(target, messageId, stat, to, from);
}

function sendReceipt(session, messageId, stat, to, from) {
  const now = stamp(new Date());
  const delivered = stat === 'DELIVRD' ? '001' : '000';
  session.deliver_sm({
    source_addr: to || '',
    destination_addr: from || '',
    esm_class: smpp.ESM_CLASS.MC_DELIVERY_RECEIPT,
    short_message: `id:${messageId} sub:001 dlvrd:${delivered} submit date:${now} ` +
                   `done date:${now} stat:${stat} err:${stat === 'DELIVRD' ? '000' : '001'} text:`,
    receipted_message_id: messageId,
    message_state: STATES[stat] || STATES.UNKNOWN,
  }, (resp) => emit('receipt_sent', {message_id: messageId, stat: stat,
                                     status: resp.command_status}));
}

function udhOf(pdu) {
  const message = pdu.short_message;
  if (!message || !message.udh) return [];
  return message.udh.map((ie) => Buffer.from(ie).toString('hex'));
}

const server = smpp.createServer((session) => {
  const bind = (mode) => (pdu) => {
    const ok = pdu.system_id === args['system-id'] && pdu.password === args.password;
    emit('bind', {mode: mode, system_id: pdu.system_id, system_type: pdu.system_type, ok: ok,
                  addr_ton: pdu.addr_ton, addr_npi: pdu.addr_npi});
    if (!ok) {
      session.send(pdu.response({command_status: smpp.ESME_RBINDFAIL}));
      session.close();
      return;
    }
    session.send(pdu.response({system_id: 'node-smpp-smsc'}));
    if (mode === 'bind_transceiver') {
      bound.add(session);
      while (held.length) sendReceipt(session, ...held.shift());
    }
  };
  session.on('bind_transceiver', bind('bind_transceiver'));
  session.on('bind_transmitter', bind('bind_transmitter'));
  session.on('submit_sm', (pdu) => {
    if (refusals.length) {
      const status = refusals.shift();
      emit('submit_sm_refused', {status: status, destination_addr: pdu.destination_addr});
      session.send(pdu.response({command_status: status}));
      return;
    }
    const messageId = (nextId++).toString(16);
    const message = pdu.short_message || {};
    const sar = pdu.sar_msg_ref_num === undefined ? null :
      {ref: pdu.sar_msg_ref_num, total: pdu.sar_total_segments, seq: pdu.sar_segment_seqnum};
    emit('submit_sm', {
      message_id: messageId, source_addr: pdu.source_addr,
      source_addr_ton: pdu.source_addr_ton, source_addr_npi: pdu.source_addr_npi,
      destination_addr: pdu.destination_addr, dest_addr_ton: pdu.dest_addr_ton,
      data_coding: pdu.data_coding, esm_class: pdu.esm_class,
      registered_delivery: pdu.registered_delivery, udh: udhOf(pdu), sar: sar,
      text: typeof message.message === 'string' ? message.message : null,
    });
    session.send(pdu.response({message_id: messageId}));
    if ((pdu.registered_delivery & 0x03) && receiptStat) {
      const stat = receiptStat;
      setTimeout(() => receiptFor(session, messageId, stat, pdu.destination_addr,
                                  pdu.source_addr), Number(args['receipt-delay-ms']));
    }
  });
  session.on('enquire_link', (pdu) => {
    emit('enquire_link', {muted: muteEnquireLink});
    if (!muteEnquireLink) session.send(pdu.response());
  });
  session.on('unbind', (pdu) => {
    emit('unbind', {});
    bound.delete(session);
    session.send(pdu.response());
    session.close();
  });
  session.on('close', () => {
    bound.delete(session);
    emit('closed', {});
  });
  session.on('error', (err) => emit('session_error', {message: String(err && err.message)}));
});

function firstBound() {
  for (const session of bound) return session;
  return null;
}

const handlers = {
  receipts(command) { receiptStat = command.stat || null; },
  receipt(command) { receiptFor(null, command.message_id, command.stat, '', ''); },
  mo(command) {
    const session = firstBound();
    if (!session) { emit('mo_sent', {status: null, error: 'no bound session'}); return; }
    // "parts": a long reply as a phone sends it, each part with a concatenation UDH.
    const parts = command.parts || [command.text];
    parts.forEach((text, i) => {
      const udh = parts.length > 1 ? Buffer.from([5, 0, 3, 0x2a, parts.length, i + 1]) : null;
      session.deliver_sm({source_addr: command.from, source_addr_ton: 1, source_addr_npi: 1,
                          destination_addr: command.to,
                          short_message: udh ? {udh: udh, message: text} : text},
                         (resp) => emit('mo_sent', {status: resp.command_status, part: i + 1}));
    });
  },
  drop() {
    for (const session of server.sessions.slice()) session.destroy();
    bound.clear();
  },
  mute_enquire_link(command) { muteEnquireLink = !!command.on; },
  garbage() {  // a PDU header with a command id no SMPP version defines
    const session = firstBound();
    const pdu = Buffer.alloc(16);
    pdu.writeUInt32BE(16, 0); pdu.writeUInt32BE(0x00000999, 4); pdu.writeUInt32BE(7, 12);
    if (session) session.socket.write(pdu);
  },
  refuse(command) {
    for (let i = 0; i < (command.count || 1); i++) refusals.push(command.status);
  },
  stop() {
    for (const session of server.sessions.slice()) session.destroy();
    server.close(() => process.exit(0));
  },
};

readline.createInterface({input: process.stdin}).on('line', (line) => {
  let command;
  try {
    command = JSON.parse(line);
  } catch (err) {
    emit('bad_command', {line: line});
    return;
  }
  const handler = handlers[command.cmd];
  if (handler) handler(command); else emit('bad_command', {line: line});
  emit('ack', {id: command.id === undefined ? null : command.id, cmd: command.cmd});
}).on('close', () => handlers.stop());

server.listen(Number(args.port), '127.0.0.1', () => emit('listening',
                                                         {port: server.address().port}));
