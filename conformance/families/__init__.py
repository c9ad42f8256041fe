"""The test families of the conformance suite (see README.md): pytest modules run by ``voicekit certify``
with the ``conformance.plugin`` plugin. Each test belongs to a profile and talks to the target only over
HTTP, CometD and WebSocket."""
