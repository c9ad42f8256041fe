// The official CometD JavaScript client (npm "cometd" + "cometd-nodejs-client") against the mock.
//
// usage: node js_client.mjs <url> <user:password> <channel> <count> <timeoutMs>
//
// Handshakes with HTTP Basic in requestHeaders (sent on every POST), long-polling only, subscribes to
// <channel> from the handshake callback (the client reuses it when it re-handshakes by itself, as the
// GWS samples do), prints every received message as one JSON line on stdout and exits 0 after <count>
// messages (after a clean disconnect), or 3 after <timeoutMs>.  Meta events go to stderr as JSON lines.
import { adapt } from "cometd-nodejs-client";
import { CometD } from "cometd";

const [url, credentials, channel, countArg, timeoutArg] = process.argv.slice(2);
if (!url || !credentials || !channel) {
    console.error("usage: node js_client.mjs <url> <user:password> <channel> <count> <timeoutMs>");
    process.exit(2);
}
const expected = Number.parseInt(countArg ?? "1", 10);
const timeoutMs = Number.parseInt(timeoutArg ?? "20000", 10);

const log = (event) => process.stderr.write(JSON.stringify(event) + "\n");

adapt();
const cometd = new CometD();
cometd.unregisterTransport("websocket");
cometd.configure({
    url,
    logLevel: "warn",
    requestHeaders: { Authorization: "Basic " + Buffer.from(credentials).toString("base64") },
});

let received = 0;
let finished = false;

const timer = setTimeout(() => {
    log({ meta: "timeout", received });
    process.exit(3);
}, timeoutMs);

function finish() {
    if (finished) {
        return;
    }
    finished = true;
    cometd.disconnect(() => {
        clearTimeout(timer);
        log({ meta: "disconnected" });
        process.exit(0);
    });
}

function onMessage(message) {
    if (finished) {
        return;
    }
    process.stdout.write(JSON.stringify({ channel: message.channel, data: message.data, id: message.id }) + "\n");
    received += 1;
    if (received >= expected) {
        finish();
    }
}

cometd.addListener("/meta/connect", (m) => log({ meta: "connect", successful: m.successful, error: m.error }));
cometd.addListener("/meta/unsuccessful", (m) => log({ meta: "unsuccessful", channel: m.channel, error: m.error }));

cometd.handshake((reply) => {
    log({ meta: "handshake", successful: reply.successful, clientId: reply.clientId, error: reply.error });
    if (reply.successful) {
        cometd.subscribe(channel, onMessage, (sub) => {
            log({ meta: "subscribe", successful: sub.successful, subscription: sub.subscription, error: sub.error });
        });
    }
});
