import httpx
from tests.factories import api_token

def test_probe(live, committed, database):
    c = committed
    big = api_token(database, c.alice)
    for p in ["/users/99999999999999999999", "/users/9999999999", "/users/2147483648", "/users?cursor=99999999999999999999", "/users?cursor=9999999999", "/users?team_id=99999999999999999999", "/users?team_id=9999999999", "/announcements/99999999999999999999", "/history?record_id=99999999999999999999", "/history?record_id=9999999999", "/notifications?cursor=99999999999999999999"]:
      with httpx.Client(base_url=live.url+"/api/v1", timeout=30, headers={"Authorization": f"Bearer {big}"}) as cl:
        try:
            r = cl.get(p); print(p, r.status_code, r.text[:100])
        except Exception as e:
            print(p, "EXC", e)
    with httpx.Client(base_url=live.url+"/api/v1", timeout=30, headers={"Authorization": f"Bearer {big}"}) as cl:
        r = cl.post("/announcements", json={"title": "x"}); aid = r.json()["id"]
        r = cl.post(f"/records/announcements/{aid}/shares", json={"user_id": 10**20}); print(r.status_code, r.text[:200])
    with httpx.Client(base_url=live.url+"/api/v1", timeout=30, headers={"Authorization": f"Bearer {big}"}) as cl:
        r = cl.post(f"/records/announcements/{aid}/shares", json={"user_id": 10**10}); print(r.status_code, r.text[:200])
    assert 0
