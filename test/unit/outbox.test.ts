import { expect } from 'chai';
import * as ws from 'ws';
import { Outbox, WEBSOCKET_BINARY, WEBSOCKET_TEXT, type Framing } from '../../router/transport/outbox.js';

interface FrameReceiver {
  on(event: string, listener: (...args: never[]) => void): void;
  write(bytes: Buffer): void;
}
// ws's frame parser; exported by the package but not declared in its types.
const { Receiver } = ws as unknown as { Receiver: new (options: { isServer: boolean }) => FrameReceiver };

/** Frames as ws's own client-side receiver reads them: an independent check of our framing. */
function readWebSocket(bytes: Buffer): { data: string; binary: boolean }[] {
  const receiver = new Receiver({ isServer: false });
  const messages: { data: string; binary: boolean }[] = [];
  receiver.on('message', (data: Buffer, binary: boolean) => messages.push({ data: data.toString('utf8'), binary }));
  receiver.on('error', (error: Error) => {
    throw error;
  });
  receiver.write(bytes);
  return messages;
}

const sizes = [0, 1, 125, 126, 127, 65535, 65536, 70000];
const text = (n: number, fill = 'x') => fill.repeat(n);

describe('outbox (frames of one turn joined into one write)', () => {
  it('frames text payloads of every header size the way ws reads them', () => {
    const box = new Outbox(WEBSOCKET_TEXT);
    for (const n of sizes) box.push(text(n));
    const chunks = box.take();
    const messages = readWebSocket(Buffer.concat(chunks));
    expect(messages.map((m) => m.data.length)).to.deep.equal(sizes);
    expect(messages.every((m) => !m.binary)).to.equal(true);
    expect(box.empty).to.equal(true);
    expect(box.bytes).to.equal(0);
  });

  it('counts multi-byte UTF-8 by bytes, not characters', () => {
    const box = new Outbox(WEBSOCKET_TEXT);
    box.push('["é✓😀"]');
    box.push('[1]');
    expect(readWebSocket(Buffer.concat(box.take())).map((m) => m.data)).to.deep.equal(['["é✓😀"]', '[1]']);
  });

  it('joins small frames into one chunk and keeps their order', () => {
    const box = new Outbox(WEBSOCKET_BINARY);
    for (let i = 0; i < 50; i++) box.push(Buffer.from([i]));
    const chunks = box.take();
    expect(chunks).to.have.length(1);
    expect(readWebSocket(chunks[0]!).map((m) => m.data.charCodeAt(0))).to.deep.equal([...Array(50).keys()]);
  });

  it('passes a large buffer as its own chunk instead of copying it (fan-out shares it)', () => {
    const large = Buffer.alloc(100_000, 7);
    const box = new Outbox(WEBSOCKET_BINARY);
    box.push(Buffer.from('a'));
    box.push(large);
    box.push(Buffer.from('b'));
    const chunks = box.take();
    expect(chunks.some((chunk) => chunk === large)).to.equal(true);
    const messages = readWebSocket(Buffer.concat(chunks));
    expect(messages.map((m) => m.data.length)).to.deep.equal([1, 100_000, 1]);
    expect(messages.every((m) => m.binary)).to.equal(true);
  });

  it('counts queued bytes with their headers', () => {
    const box = new Outbox(WEBSOCKET_TEXT);
    box.push(text(10));
    box.push(text(200));
    expect(box.bytes).to.equal(2 + 10 + 4 + 200);
    expect(Buffer.concat(box.take()).length).to.equal(216);
  });

  it('uses the framing it is given (a RawSocket-like 4-octet header)', () => {
    const fourOctets: Framing = {
      headerLength: () => 4,
      writeHeader(target, offset, length) {
        target.writeUInt32BE(length, offset);
        return offset + 4;
      },
    };
    const box = new Outbox(fourOctets);
    box.push('[1]');
    box.push(Buffer.from('[22]'));
    expect(Buffer.concat(box.take()).toString('latin1')).to.equal('\0\0\0\x03[1]\0\0\0\x04[22]');
  });
});
