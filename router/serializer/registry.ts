import { cborSerializer } from './cbor.js';
import { jsonSerializer } from './json.js';
import { msgpackSerializer } from './msgpack.js';
import type { Serializer, SerializerName } from './serializer.js';

export const SERIALIZERS: Readonly<Record<SerializerName, Serializer>> = {
  json: jsonSerializer,
  msgpack: msgpackSerializer,
  cbor: cborSerializer,
};

/**
 * Pick the serializer for a WebSocket upgrade: the first subprotocol in the client's offer that
 * the listener serves (Autobahn's rule, wamp-spec §11.1); undefined refuses the upgrade.
 */
export function chooseSubprotocol(offered: Iterable<string>, served: readonly SerializerName[]): Serializer | undefined {
  for (const name of offered) {
    for (const s of served) if (SERIALIZERS[s].subprotocol === name) return SERIALIZERS[s];
  }
  return undefined;
}

export function serializerByRawSocketId(id: number, served: readonly SerializerName[]): Serializer | undefined {
  for (const s of served) if (SERIALIZERS[s].rawSocketId === id) return SERIALIZERS[s];
  return undefined;
}
