/** Worker channels: Conns between threads of one process over shared rings. */
export { createChannel, openChannel } from './channel.js';
export type { ChannelOptions, ChannelPort, OpenChannelOptions } from './channel.js';
