// tanhuo (探货): the feed exists only after this runs. It fetches /tanhuo/api/feed?page=N, renders each
// item with the DOM API, and fetches the next page when the visitor scrolls near the bottom (no button).
(function () {
  var feed = document.getElementById("feed");
  var more = document.getElementById("more");
  var page = 0;
  var busy = false;
  var done = false;

  function card(it) {
    var el = document.createElement("div");
    el.className = "card";
    el.setAttribute("data-item", it.itemId);
    var a = document.createElement("a");
    a.className = "card-title";
    a.href = it.link;
    a.textContent = it.title;
    el.appendChild(a);
    var price = document.createElement("b");
    price.className = "card-price";
    price.textContent = it.priceText;
    el.appendChild(price);
    if (it.couponText) {
      var coupon = document.createElement("i");
      coupon.className = "card-coupon";
      coupon.textContent = it.couponText;
      el.appendChild(coupon);
    }
    feed.appendChild(el);
  }

  function load(attempt) {
    busy = true;
    fetch("/tanhuo/api/feed?page=" + (page + 1), {headers: {"Accept": "application/json"}})
      .then(function (res) {
        if ((res.status === 429 || res.status >= 500) && attempt < 5) {
          var wait = parseInt(res.headers.get("Retry-After") || "1", 10) * 1000;
          setTimeout(function () { load(attempt + 1); }, wait);
          return null;
        }
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.json();
      })
      .then(function (body) {
        if (!body) return;
        body.data.list.forEach(card);
        page = body.data.page;
        busy = false;
        if (!body.data.hasMore) {
          done = true;
          more.textContent = "没有更多了";
        }
      })
      .catch(function (err) {
        busy = false;
        more.textContent = "加载失败 (" + err.message + ")";
      });
  }

  window.addEventListener("scroll", function () {
    var bottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 200;
    if (bottom && !busy && !done) load(0);
  });
  load(0);
})();
