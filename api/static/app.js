// bijia storefront page. A separate file (no inline script, style or handler) so that the page runs under a
// strict Content-Security-Policy. State lives in the URL hash (#q=…&sort=… or #product=…): links can be
// shared and opened, and the back button works, without reloading the page.
"use strict";

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const safeUrl = (u) => (typeof u === "string" && /^https?:\/\//i.test(u) ? u : null);
const PAGE = 20;
let state = {q: "", sort: "", cursor: null, count: 0};

function money(value, currency) {
  if (value == null) return "—";
  const n = Number(value);
  try {
    return new Intl.NumberFormat("zh-CN", {style: "currency", currency: currency || "CNY"}).format(n);
  } catch (e) {
    return `${currency || ""} ${n.toFixed(2)}`;
  }
}

function localTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString("zh-CN", {dateStyle: "short", timeStyle: "short"});
}

function delivery(hours, text) {
  if (hours == null) return text ? esc(text) : "";
  if (hours < 1) return `${Math.round(hours * 60)} 分钟`;
  if (hours < 24 || hours % 24) return `${Number(hours.toFixed(1))} 小时`;
  return `${hours / 24} 天`;
}

async function api(path) {
  const res = await fetch(path, {headers: {Accept: "application/json"}});
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ? body.error.message : res.statusText);
  return body;
}

function show(section) {
  $("results").hidden = section !== "results";
  $("product").hidden = section !== "product";
}

function image(src, cls) {
  const url = safeUrl(src);
  return url ? `<img class="${cls}" src="${esc(url)}" alt="" loading="lazy">` : `<span class="${cls}"></span>`;
}

function resultItem(p) {
  const discount = p.real_discount ? ` <span class="badge good">真降价 real discount</span>` : "";
  const unknown = p.lowest_shipping_unknown ? ` <span class="badge warn">+运费?</span>` : "";
  return `<li class="result">${image(p.image, "thumb")}
    <div class="name"><a class="product-link" href="#product=${encodeURIComponent(p.product_id)}">${esc(p.title)}</a>
      <div class="muted">${esc(p.brand)}${p.category ? " · " + esc(p.category) : ""} · ${p.marketplaces} 家 shops</div></div>
    <div class="where"><span class="price">${money(p.lowest_price, p.currency)}</span>${unknown}${discount}
      <div class="muted">${esc(p.lowest_marketplace || "")}</div></div></li>`;
}

async function search(q, sort, cursor) {
  const params = new URLSearchParams({limit: String(PAGE)});
  if (q) params.set("q", q);
  if (sort) params.set("sort", sort);
  if (cursor) params.set("cursor", cursor);
  $("status").textContent = "搜索中 Searching…";
  show("results");
  try {
    const page = await api("/api/v1/products?" + params);
    if (!cursor) $("result-list").innerHTML = "";
    $("result-list").insertAdjacentHTML("beforeend", page.items.map(resultItem).join(""));
    state = {q, sort, cursor: page.next_cursor, count: page.count};
    $("more").hidden = !page.next_cursor;
    const empty = page.count === 0;
    $("no-results").hidden = !empty;
    $("no-results").textContent = empty
      ? `没有找到“${q}”的商品。No products match “${q}”: try fewer words, a brand (华为 / huawei), a category (手机) or a barcode.`
      : "";
    const shown = $("result-list").children.length;
    $("status").textContent = empty ? "" : `${page.count} 件商品 products (showing ${shown})`;
  } catch (e) {
    $("status").innerHTML = `<span class="error">${esc(e.message)}</span>`;
  }
}

function offerCard(o, i, product) {
  const url = safeUrl(o.url);
  const title = url ? `<a href="${esc(url)}" target="_blank" rel="noopener noreferrer">${esc(o.title)}</a>` : esc(o.title);
  const own = o.currency || product.currency;
  const shipping = !o.shipping_known ? `<span class="badge warn">运费未知 shipping unknown</span>`
    : Number(o.shipping) === 0 ? "包邮 free shipping" : `运费 ${money(o.shipping, own)}`;
  const price = o.comparable
    ? `<div class="price">${money(o.display_price, product.currency)}${o.shipping_known ? "" : "+?"}</div>`
    : `<div class="price">${money(o.final_price || o.price, own)}</div><span class="badge">未排名 not ranked: no ${esc(product.currency)} rate</span>`;
  const converted = o.comparable && own !== product.currency
    ? `<div class="muted">${money(o.landed_price || o.final_price || o.price, own)} × ${esc(o.rate)} (${esc(o.rate_date)})</div>` : "";
  const where = [o.store, o.seller, o.distance_km != null ? `${Number(o.distance_km).toFixed(1)} km` : null].filter(Boolean).map(esc).join(" · ");
  const stock = o.in_stock === false ? "无货 out of stock" : "有货 in stock" + (o.stock_qty != null ? ` (${o.stock_qty})` : "");
  const deliver = delivery(o.delivery_hours, o.delivery_text);
  const best = i === 0 && o.comparable && o.in_stock !== false;
  return `<div class="offer${best ? " best" : ""}${o.comparable ? "" : " apart"}">
    <div class="muted">${esc(o.marketplace)}${where ? " · " + where : ""}</div>${price}${converted}
    <div class="muted">价格 ${money(o.price, own)}${o.final_price ? " · 券后 " + money(o.final_price, own) : ""} · ${shipping}</div>
    <div>${title}</div>
    <div class="muted">${stock}${deliver ? " · " + deliver : ""} · ${localTime(o.observed_at)}${o.stale ? " (stale)" : ""}
      ${o.real_discount ? ` · <span class="badge good">真降价</span>` : ""}</div></div>`;
}

async function showProduct(id) {
  show("product");
  $("status").textContent = "";
  try {
    const [page, hist] = await Promise.all([
      api("/api/v1/products/" + encodeURIComponent(id)),
      api("/api/v1/products/" + encodeURIComponent(id) + "/history?days=90"),
    ]);
    const p = page.product;
    $("product-title").textContent = p.title;
    const img = safeUrl(p.image);
    $("product-image").hidden = !img;
    if (img) $("product-image").src = img;
    $("product-lows").textContent = `最低 Lowest ${money(p.lowest_price, p.currency)}${p.lowest_shipping_unknown ? " (+运费?)" : ""}` +
      ` @ ${p.lowest_marketplace || "—"} · 差价 saving ${money(p.saving, p.currency)} · 历史最低 all-time low ${money(p.low_all_time, p.currency)}`;
    $("product-discount").innerHTML = p.reference_price == null
      ? `<span class="badge">30天参考价: 暂无 — not enough history for a reference price</span>`
      : `<span class="badge ${p.real_discount ? "good" : ""}">${p.real_discount ? "真降价 real discount" : "非真降价 not a real discount"}</span>
         <span class="muted">现价 ${money(p.price_now, p.currency)} (since ${esc(p.price_since)}) vs 此前30天最低 ${money(p.reference_price, p.currency)}</span>`;
    $("offers").innerHTML = page.offers.map((o, i) => offerCard(o, i, p)).join("");
    drawChart(hist.series || [], p.currency);
    $("back").href = state.q || state.sort ? "#" + searchHash(state.q, state.sort) : "#";
    document.title = `${p.title} · bijia 比价`;
  } catch (e) {
    $("status").innerHTML = `<span class="error">${esc(e.message)}</span>`;
    show("");
  }
}

function drawChart(series, currency) {
  const svg = $("chart"), H = 260, left = 86, right = 16, top = 16, bottom = 40;
  const W = Math.max(300, Math.min(760, Math.round(svg.getBoundingClientRect().width) || 760));
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);  // drawn at the width it is shown: text stays legible
  const dates = [...new Set(series.flatMap((s) => s.days.map((d) => d.date)))].sort();
  const values = series.flatMap((s) => s.days.map((d) => Number(d.low)));
  $("legend").innerHTML = series.map((s, i) => `<li><span class="swatch s${i % 8}"></span>${esc(s.marketplace)}</li>`).join("");
  if (!dates.length) {
    svg.innerHTML = `<text class="axis" x="20" y="40">暂无历史 no history yet</text>`;
    return;
  }
  const min = Math.min(...values), max = Math.max(...values), span = max - min || 1;
  const x = (d) => left + (dates.length === 1 ? (W - left - right) / 2 : (dates.indexOf(d) * (W - left - right)) / (dates.length - 1));
  const y = (v) => top + (1 - (v - min) / span) * (H - top - bottom);
  const lines = series.map((s, i) => {
    const pts = s.days.map((d) => `${x(d.date).toFixed(1)},${y(Number(d.low)).toFixed(1)}`).join(" ");
    const dots = s.days.map((d) => `<circle class="chart-point dot-s${i % 8}" cx="${x(d.date).toFixed(1)}" cy="${y(Number(d.low)).toFixed(1)}" r="3">` +
      `<title>${esc(s.marketplace)} ${esc(d.date)} ${money(d.low, currency)}</title></circle>`).join("");
    return `<polyline class="chart-line line-s${i % 8}" points="${pts}"/>${dots}`;
  }).join("");
  svg.innerHTML = lines +
    `<text class="axis" x="4" y="${y(max) + 4}">${money(max, currency)}</text>` +
    `<text class="axis" x="4" y="${y(min) + 4}">${money(min, currency)}</text>` +
    `<text class="axis" x="${left}" y="${H - 12}">${esc(dates[0])}</text>` +
    `<text class="axis" x="${W - right}" y="${H - 12}" text-anchor="end">${esc(dates[dates.length - 1])}</text>`;
}

function searchHash(q, sort) {
  const params = new URLSearchParams();
  if (q) params.set("q", q);
  if (sort) params.set("sort", sort);
  return params.toString();
}

function route() {
  const hash = location.hash.replace(/^#/, "");
  const params = new URLSearchParams(hash);
  if (params.has("product")) return showProduct(params.get("product"));
  const q = params.get("q") || "", sort = params.get("sort") || "";
  $("q").value = q;
  $("sort").value = sort;
  if (q || sort) return search(q, sort, null);
  show("");
  $("status").textContent = "输入商品名、品牌、型号或条码 — type a product, brand, model number or barcode.";
}

document.addEventListener("DOMContentLoaded", () => {
  $("search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const hash = searchHash($("q").value.trim(), $("sort").value);
    if (location.hash.replace(/^#/, "") === hash) route();
    else location.hash = hash;
  });
  $("more").addEventListener("click", () => search(state.q, state.sort, state.cursor));
  document.addEventListener("error", (e) => {  // an image that does not load is hidden, not shown broken
    if (e.target instanceof HTMLImageElement) e.target.hidden = true;
  }, true);
  window.addEventListener("hashchange", route);
  route();
});
