// bijia storefront: the shopper panels — the nearest-store choice for the product shown, and the basket.
// A file, never inline, so the page works under a strict Content-Security-Policy (script-src 'self'):
// every element is built with the DOM API, styled by class (shopper.css), wired with addEventListener.
(function () {
  "use strict";
  var PLACES = [["北京 天安门", "39.9042,116.4074"], ["上海 陆家嘴", "31.2397,121.4998"]];
  var KEY_NEAR = "bijia.near", KEY_BASKET = "bijia.basket";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }
  function yuan(v) {
    return v == null ? "—" : "¥" + Number(v).toLocaleString("zh-CN", {minimumFractionDigits: 2, maximumFractionDigits: 2});
  }
  function stored(key, fallback) {
    try { return JSON.parse(localStorage.getItem(key)) || fallback; } catch (e) { return fallback; }
  }
  function store(key, value) {
    try { localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* private mode: keep in memory */ }
  }
  function productId() {
    var m = location.hash.match(/^#product=(.+)$/);
    return m ? decodeURIComponent(m[1]) : null;
  }
  async function call(path, options) {
    var res = await fetch(path, Object.assign({headers: {"Accept": "application/json", "Content-Type": "application/json"}}, options || {}));
    var body = await res.json();
    if (!res.ok) throw new Error(body.error ? body.error.message : res.statusText);
    return body;
  }

  // ---- where the shopper is -------------------------------------------------------------------------
  var place = el("div", "shopper-place");
  var nearInput = el("input", "shopper-near");
  nearInput.id = "shopper-near";
  nearInput.placeholder = "lat,lng (39.9042,116.4074)";
  nearInput.value = stored(KEY_NEAR, PLACES[0][1]);
  nearInput.addEventListener("change", function () { store(KEY_NEAR, nearInput.value.trim()); });
  place.appendChild(el("span", "shopper-label", "我在 near"));
  place.appendChild(nearInput);
  PLACES.forEach(function (p) {
    var b = el("button", "shopper-preset", p[0]);
    b.type = "button";
    b.addEventListener("click", function () { nearInput.value = p[1]; store(KEY_NEAR, p[1]); refreshNearby(); });
    place.appendChild(b);
  });
  var sort = el("select", "shopper-sort");
  sort.id = "shopper-sort";
  [["best", "最佳 best"], ["price", "最便宜 price"], ["arrival", "最快 arrival"]].forEach(function (o) {
    var opt = el("option", null, o[1]);
    opt.value = o[0];
    sort.appendChild(opt);
  });
  sort.addEventListener("change", function () { refreshNearby(); });
  place.appendChild(sort);

  // ---- nearby: the product's offers ranked for this place --------------------------------------------
  var nearby = el("section", "shopper-nearby");
  nearby.id = "shopper-nearby";
  nearby.hidden = true;
  var nearbyTitle = el("h3", null, "附近 Nearby: cheapest, fastest, best for you");
  var choices = el("div", "shopper-choices");
  var ranked = el("ol", "shopper-ranked");
  var addButton = el("button", "shopper-add", "加入购物篮 Add to basket");
  addButton.type = "button";
  addButton.id = "shopper-add";
  var nearbyStatus = el("p", "shopper-status");
  [nearbyTitle, place, choices, ranked, addButton, nearbyStatus].forEach(function (n) { nearby.appendChild(n); });
  var current = {id: null, title: ""};

  async function refreshNearby() {
    var id = productId();
    if (!id || document.getElementById("product").hidden) { nearby.hidden = true; return; }
    nearby.hidden = false;
    current.id = id;
    var params = new URLSearchParams({near: nearInput.value.trim(), sort: sort.value});
    nearbyStatus.textContent = "…";
    try {
      var page = await call("/api/v1/products/" + encodeURIComponent(id) + "?" + params);
      current.title = page.product.title;
      renderNearby(page.nearby);
      nearbyStatus.textContent = "";
    } catch (e) {
      choices.replaceChildren();
      ranked.replaceChildren();
      nearbyStatus.textContent = e.message;
      nearbyStatus.className = "shopper-status shopper-error";
    }
  }

  function renderNearby(n) {
    choices.replaceChildren();
    ranked.replaceChildren();
    nearbyStatus.className = "shopper-status";
    [["best", "最佳 Best"], ["cheapest", "最便宜 Cheapest"], ["fastest", "最快 Fastest"]].forEach(function (c) {
      var pick = n.choices[c[0]];
      if (!pick) return;
      var card = el("div", "shopper-choice shopper-" + c[0]);
      card.appendChild(el("div", "shopper-choice-name", c[1]));
      card.appendChild(el("div", "shopper-price", yuan(pick.landed_price)));
      card.appendChild(el("div", "shopper-where", where(pick) + " · " + pick.arrival));
      card.appendChild(el("div", "shopper-reason", pick.reason));
      choices.appendChild(card);
    });
    n.offers.forEach(function (o) {
      var li = el("li", "shopper-offer");
      li.appendChild(el("span", "shopper-price", yuan(o.landed_price)));
      li.appendChild(el("span", "shopper-where", where(o)));
      li.appendChild(el("span", "shopper-arrival", o.arrival));
      ranked.appendChild(li);
    });
    if (!n.offers.length) nearbyStatus.textContent = "附近无货 nothing can reach you here";
    else if (n.out_of_range) nearbyStatus.textContent = n.out_of_range + " store offer(s) out of range";
  }

  function where(o) {
    var name = o.marketplace + (o.store ? " " + o.store : o.seller && o.seller !== o.marketplace ? " " + o.seller : "");
    return o.distance_km != null ? name + " (" + o.distance_km.toFixed(1) + " km)" : name;
  }

  // ---- the basket -------------------------------------------------------------------------------------
  var basket = stored(KEY_BASKET, []);
  var panel = el("section", "shopper-basket");
  panel.id = "shopper-basket";
  var items = el("ul", "shopper-items");
  var planButton = el("button", "shopper-plan-button", "最省怎么买 Cheapest basket");
  planButton.type = "button";
  planButton.id = "shopper-plan";
  var useNear = el("label", "shopper-use-near");
  var useNearBox = el("input");
  useNearBox.type = "checkbox";
  useNearBox.id = "shopper-use-near";
  useNearBox.checked = true;
  useNear.appendChild(useNearBox);
  useNear.appendChild(document.createTextNode(" 含附近门店 include stores near me"));
  var plan = el("div", "shopper-plan");
  plan.id = "shopper-plan-result";
  [el("h3", null, "购物篮 Basket"), items, useNear, planButton, plan].forEach(function (n) { panel.appendChild(n); });

  function saveBasket() { store(KEY_BASKET, basket); renderBasket(); }
  function renderBasket() {
    items.replaceChildren();
    panel.hidden = basket.length === 0;
    basket.forEach(function (item, i) {
      var li = el("li", "shopper-item");
      var qty = el("input", "shopper-qty");
      qty.type = "number";
      qty.min = "1";
      qty.max = "999";
      qty.value = String(item.quantity);
      qty.addEventListener("change", function () { item.quantity = Math.max(1, Math.min(999, parseInt(qty.value, 10) || 1)); saveBasket(); });
      var remove = el("button", "shopper-remove", "×");
      remove.type = "button";
      remove.title = "remove";
      remove.addEventListener("click", function () { basket.splice(i, 1); saveBasket(); });
      li.appendChild(qty);
      li.appendChild(el("span", "shopper-item-title", item.title || item.product_id));
      li.appendChild(remove);
      items.appendChild(li);
    });
  }

  addButton.addEventListener("click", function () {
    if (!current.id) return;
    var found = basket.filter(function (b) { return b.product_id === current.id; })[0];
    if (found) found.quantity += 1; else basket.push({product_id: current.id, title: current.title, quantity: 1});
    saveBasket();
  });

  planButton.addEventListener("click", async function () {
    var body = {items: basket.map(function (b) { return {product_id: b.product_id, quantity: b.quantity}; })};
    if (useNearBox.checked && nearInput.value.trim()) body.near = nearInput.value.trim();
    plan.replaceChildren(el("p", "shopper-status", "…"));
    try {
      renderPlan(await call("/api/v1/basket", {method: "POST", body: JSON.stringify(body)}));
    } catch (e) {
      plan.replaceChildren(el("p", "shopper-status shopper-error", e.message));
    }
  });

  function renderPlan(p) {
    plan.replaceChildren();
    p.shops.forEach(function (shop) {
      var box = el("div", "shopper-shop");
      box.appendChild(el("div", "shopper-shop-name", shop.shop + " · " + yuan(shop.total)));
      shop.items.forEach(function (it) {
        box.appendChild(el("div", "shopper-line", it.quantity + " × " + it.title + " " + yuan(it.line_total)));
      });
      var notes = [];
      if (shop.promotions.length) notes.push("优惠 −" + yuan(shop.promotion_saving) + " (" + shop.promotions.join(", ") + ")");
      notes.push(shop.free_shipping ? "包邮 (" + shop.free_shipping + ")" : "运费 " + yuan(shop.shipping));
      box.appendChild(el("div", "shopper-notes", notes.join(" · ")));
      plan.appendChild(box);
    });
    p.cross_store.forEach(function (c) {
      plan.appendChild(el("div", "shopper-notes", c.marketplace + " 跨店 −" + yuan(c.saving) + " (" + c.promotions.join(", ") + ")"));
    });
    var total = el("div", "shopper-total", "合计 Total " + yuan(p.total));
    total.id = "shopper-total";
    plan.appendChild(total);
    plan.appendChild(el("div", "shopper-saving",
      "比各买各的最低价省 " + yuan(p.saving) + " (each at its own cheapest: " + yuan(p.naive_total) + ")"));
  }

  // ---- hook into the page ------------------------------------------------------------------------------
  function install() {
    var product = document.getElementById("product");
    var main = document.querySelector("main");
    if (!product || !main) return;
    var lows = document.getElementById("product-lows");
    product.insertBefore(nearby, lows ? lows.nextSibling : product.firstChild);
    main.appendChild(panel);
    renderBasket();
    // the page shows a product by filling #product-title and unhiding #product
    new MutationObserver(function () { refreshNearby(); })
      .observe(product, {attributes: true, attributeFilter: ["hidden"]});
    new MutationObserver(function () { refreshNearby(); })
      .observe(document.getElementById("product-title"), {childList: true, characterData: true, subtree: true});
    window.addEventListener("hashchange", refreshNearby);
    refreshNearby();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", install);
  else install();
})();
