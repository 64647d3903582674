/**
 * The pages' only stylesheet, served from /assets/style.css so the
 * Content-Security-Policy needs no inline style. System fonts, a single
 * column that fits a phone, colours with at least 4.5:1 contrast.
 */
export const STYLESHEET = `
:root { color-scheme: light; --ink: #1a1a1a; --muted: #4a4a4a; --accent: #0b57d0; --line: #c4c4c4; --warn: #8a1c1c; --ok: #0d5c2e; }
* { box-sizing: border-box; }
body { margin: 0; font: 1.0625rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fff; }
main { max-width: 40rem; margin: 0 auto; padding: 1.25rem 1rem 3rem; }
h1 { font-size: 1.5rem; line-height: 1.25; margin: 0.5rem 0 1rem; }
h2 { font-size: 1.2rem; margin: 1.75rem 0 0.5rem; }
p { margin: 0.5rem 0 1rem; }
.muted { color: var(--muted); }
label { display: block; font-weight: 600; margin: 0 0 0.25rem; }
fieldset { border: 1px solid var(--line); border-radius: 0.5rem; margin: 0 0 1.25rem; padding: 0.75rem 1rem; }
legend { font-weight: 600; padding: 0 0.25rem; }
fieldset label { font-weight: normal; display: flex; gap: 0.5rem; align-items: center; min-height: 2.75rem; }
input[type=text], input[type=password] { width: 100%; font: inherit; padding: 0.65rem 0.75rem; border: 1px solid #767676; border-radius: 0.375rem; margin: 0 0 1.25rem; }
input[type=radio] { width: 1.25rem; height: 1.25rem; margin: 0; }
.field { margin: 0 0 1.25rem; }
.field input { margin-bottom: 0.25rem; }
.hint { color: var(--muted); font-size: 0.95rem; margin: 0; }
button, .button { display: inline-block; font: inherit; font-weight: 600; color: #fff; background: var(--accent); border: 0; border-radius: 0.375rem;
  padding: 0.75rem 1.25rem; min-height: 2.75rem; text-decoration: none; cursor: pointer; }
button:focus-visible, .button:focus-visible, input:focus-visible, a:focus-visible { outline: 3px solid #f9a825; outline-offset: 2px; }
a { color: var(--accent); }
.error { border-left: 4px solid var(--warn); background: #fdf0f0; padding: 0.75rem 1rem; color: var(--warn); }
.notice { border-left: 4px solid var(--ok); background: #eef7f1; padding: 0.75rem 1rem; }
.password { font: 600 1.5rem/1.6 ui-monospace, "SF Mono", Menlo, Consolas, monospace; letter-spacing: 0.05em; background: #f3f3f3;
  border-radius: 0.5rem; padding: 0.75rem 1rem; margin: 0.5rem 0 1rem; display: flex; flex-wrap: wrap; gap: 0.25rem 0.9rem; }
table { border-collapse: collapse; width: 100%; margin: 0 0 1rem; }
th, td { text-align: left; vertical-align: top; padding: 0.4rem 0.5rem 0.4rem 0; border-bottom: 1px solid #e0e0e0; overflow-wrap: anywhere; }
th { width: 40%; font-weight: 600; }
.qr svg { width: 12rem; height: 12rem; display: block; }
`;
