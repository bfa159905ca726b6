import httpx, collections
from concurrent.futures import ThreadPoolExecutor
from tests.factories import api_token

def test_probe(live, committed, database):
    c = committed
    toks = [api_token(database, c.alice) for _ in range(200)]
    writer = api_token(database, c.alice)
    with httpx.Client(base_url=live.url+"/api/v1", timeout=30, limits=httpx.Limits(max_connections=60)) as cl:
        def get(i):
            if i % 3 == 0:
                return cl.post("/announcements", json={"title": f"t{i}"}, headers={"Authorization": f"Bearer {writer}"}).status_code
            return cl.get("/me", headers={"Authorization": f"Bearer {toks[i]}"}).status_code
        with ThreadPoolExecutor(40) as ex:
            codes = list(ex.map(get, range(200)))
    print(collections.Counter(codes))
    assert 0
