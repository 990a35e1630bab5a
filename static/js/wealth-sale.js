// Wealth pages: the redemption estimate (units × latest NAV, less the redemption fee), computed exactly as the
// server does it (integer fen, BigInt), from the data the page embeds with json_script.
document.addEventListener("DOMContentLoaded", () => {
  const dataEl = document.getElementById("wealth-redeem-data");
  const input = document.getElementById("id_units");
  if (!dataEl || !input) return;
  const d = JSON.parse(dataEl.textContent);
  const nav = BigInt(d.nav_x10000), bp = BigInt(d.fee_bp), held = BigInt(d.held_x100);
  const fmt = (fen) => {
    const neg = fen < 0n, v = neg ? -fen : fen;
    const yuan = (v / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (neg ? "-" : "") + yuan + "." + (v % 100n).toString().padStart(2, "0");
  };
  const units = (text) => {
    const m = /^\s*(\d+)(?:\.(\d{1,2}))?\s*$/.exec(text.replace(/[,，]/g, ""));
    if (!m) return null;
    return BigInt(m[1]) * 100n + BigInt((m[2] || "").padEnd(2, "0") || "0");
  };
  const out = (id, text) => { document.getElementById(id).textContent = text; };
  const update = () => {
    const u = units(input.value);
    if (u === null || u <= 0n || u > held) { out("est-gross", "—"); out("est-fee", "—"); out("est-net", "—"); return; }
    const gross = (u * nav) / 10000n;
    const fee = (gross * bp + 5000n) / 10000n;
    out("est-gross", fmt(gross)); out("est-fee", fmt(fee)); out("est-net", fmt(gross - fee));
  };
  input.addEventListener("input", update);
  const all = document.getElementById("redeem-all");
  if (all) all.addEventListener("click", () => { input.value = all.dataset.units; update(); });
  update();
});
