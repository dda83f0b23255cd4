return { name = "x", prompt = function(i) return {{role="user", content=i.q}} end }
