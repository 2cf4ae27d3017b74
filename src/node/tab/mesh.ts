// The mesh a tab joins: WebRTC data channels between every pair of tabs of a
// cluster, signaled through BroadcastChannel (tabs of this browser, no
// server) or a WebSocket relay (other browsers and machines).
import type { NodeId } from '../../raft/index.js';
import { BroadcastChannelSignaling } from '../../transport/signaling-broadcast.js';
import { WebSocketSignaling } from '../../transport/signaling-ws.js';
import type { Signaling } from '../../transport/signaling.js';
import { WebRtcTransport } from '../../transport/webrtc-mesh.js';
import type { MeshTransport } from './tab-runtime.js';

export interface MeshOptions {
  readonly cluster: string;
  /** signalUrl: ws(s)://host:port/signal for the relay; undefined = BroadcastChannel. */
  readonly signalUrl?: string;
}

/** createMesh builds this peer's WebRTC mesh for the cluster's room. */
export function createMesh(peerId: NodeId, opts: MeshOptions): MeshTransport {
  const signaling: Signaling = opts.signalUrl ? new WebSocketSignaling(opts.signalUrl) : new BroadcastChannelSignaling();
  const transport = new WebRtcTransport({ localId: peerId, room: `tabd/${opts.cluster}`, signaling });
  return Object.assign(transport, { peersSeen: () => signaling.peers() }) as WebRtcTransport & MeshTransport;
}
