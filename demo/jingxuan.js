// jingxuan (精选商城): the listing exists only after this runs. It fetches /jingxuan/api/items?page=N,
// renders each item with the DOM API, and wires button.load-more (removed after the last page).
(function () {
  var cfg = window.JX_CONFIG;
  var c = cfg.classes; // item, title, shop, price, coupon-price, shipping, delivery, stock
  var list = document.getElementById("list");
  var status = document.getElementById("status");
  var button = document.querySelector("button.load-more");
  var page = 0;
  var busy = false;

  function span(cls, text) {
    var el = document.createElement("span");
    el.className = cls;
    el.textContent = text;
    return el;
  }

  function render(it) {
    var card = document.createElement("div");
    card.className = c[0];
    card.setAttribute("data-offer", it.id);
    var a = document.createElement("a");
    a.className = c[1];
    a.href = it.url;
    a.textContent = it.title;
    card.appendChild(a);
    card.appendChild(span(c[2], it.shop));
    card.appendChild(span(c[3], it.price));
    if (it.coupon_price) card.appendChild(span(c[4], it.coupon_price));
    card.appendChild(span(c[5], it.shipping));
    card.appendChild(span(c[6], it.delivery));
    card.appendChild(span(c[7], it.stock));
    (it.promotions || []).forEach(function (text) { card.appendChild(span("promo", text)); });
    list.appendChild(card);
  }

  function load(next, attempt) {
    busy = true;
    fetch(cfg.api + "?page=" + next, {headers: {"Accept": "application/json"}})
      .then(function (res) {
        if ((res.status === 429 || res.status >= 500) && attempt < 5) {
          var wait = parseInt(res.headers.get("Retry-After") || "1", 10) * 1000;
          setTimeout(function () { load(next, attempt + 1); }, wait);
          return null;
        }
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.json();
      })
      .then(function (data) {
        if (!data) return;
        data.items.forEach(render);
        page = data.page;
        busy = false;
        status.textContent = "";
        if (data.has_more) {
          button.hidden = false;
        } else if (button.parentNode) {
          button.parentNode.removeChild(button);
        }
      })
      .catch(function (err) {
        busy = false;
        status.textContent = "加载失败 (" + err.message + ")";
      });
  }

  button.addEventListener("click", function () {
    if (!busy) load(page + 1, 0);
  });
  load(1, 0);
})();
