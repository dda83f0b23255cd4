-- wrk script: POST a short non-streamed chat to /api/chat (bench/sim.sh)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"qwen3:8b","stream":false,"options":{"num_predict":8},' ..
           '"messages":[{"role":"user","content":"Say something short."}]}'
