package dev.netrun.rpc;

import dev.netrun.rpc.internal.LocalChannel;

/** Factories for channels. */
public final class Channels {
    private Channels() {
    }

    /**
     * Returns two connected in-memory channel ends. Messages are passed by reference: nothing is copied or
     * serialized. Each end's inbox is unbounded, so {@code send} never blocks.
     *
     * @return a new connected pair
     */
    public static ChannelPair pair() {
        LocalChannel left = new LocalChannel("left", null);
        LocalChannel right = new LocalChannel("right", null);
        left.connect(toPeer(right));
        right.connect(toPeer(left));
        return new ChannelPair(left, right);
    }

    private static LocalChannel.Sink toPeer(LocalChannel peer) {
        return new LocalChannel.Sink() {
            @Override
            public void message(String key, Object data) {
                if (!peer.deliver(key, data)) {
                    throw new ChannelClosedException("Cannot send: the peer closed the channel");
                }
            }

            @Override
            public void closed() {
                peer.deliverClose();
            }

            @Override
            public void broken(Throwable cause) {
                peer.deliverBroken(cause);
            }
        };
    }
}
