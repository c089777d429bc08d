// Starts the dashboard. Trunk's default loader is an inline <script>, which the relay's
// Content-Security-Policy (script-src 'self') forbids; Trunk.toml's pattern_script puts this
// file in its place and hands over the hashed file names as data attributes.
const tag = document.querySelector("script[data-app-js]");
const { default: init } = await import(tag.dataset.appJs);
await init({ module_or_path: tag.dataset.appWasm });
