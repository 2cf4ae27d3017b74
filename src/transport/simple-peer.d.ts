// Types for simple-peer's prebuilt browser bundle. The package's main entry
// pulls Node built-ins (stream, buffer) that break Vite bundles, so tabd
// imports `simple-peer/simplepeer.min.js` (a UMD bundle with its own shims).
// Only what webrtc-mesh.ts uses is declared, including the underlying
// RTCDataChannel (`_channel`): simple-peer documents it as the way to reach
// bufferedAmount and its threshold.
declare module 'simple-peer/simplepeer.min.js' {
  /** SignalData is an offer, an answer or an ICE candidate; opaque, JSON-serializable. */
  export type SignalData = { readonly [key: string]: unknown };

  export interface SimplePeerOptions {
    initiator?: boolean;
    trickle?: boolean;
    config?: RTCConfiguration;
    channelConfig?: RTCDataChannelInit;
    channelName?: string;
    /** objectMode: each channel message is one 'data' event (no stream coalescing). */
    objectMode?: boolean;
  }

  export interface SimplePeerInstance {
    readonly connected: boolean;
    readonly destroyed: boolean;
    /** _channel: the RTCDataChannel, set once negotiated (null before, and after destroy). */
    readonly _channel: RTCDataChannel | null;
    signal(data: SignalData): void;
    send(data: ArrayBufferView | ArrayBuffer | string): void;
    destroy(err?: Error): void;
    on(event: 'signal', listener: (data: SignalData) => void): this;
    on(event: 'connect' | 'close', listener: () => void): this;
    on(event: 'data', listener: (data: Uint8Array | string) => void): this;
    on(event: 'error', listener: (err: Error & { code?: string }) => void): this;
    removeAllListeners(event?: string): this;
  }

  const SimplePeer: {
    new (opts?: SimplePeerOptions): SimplePeerInstance;
    readonly WEBRTC_SUPPORT: boolean;
  };
  export default SimplePeer;
}
