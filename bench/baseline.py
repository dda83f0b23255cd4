#!/usr/bin/python3
# bench/baseline.py: the Python client ollaeval is measured against (make
# bench). It does the GSM8K pipeline's work the way a careful Python user
# would: asyncio + aiohttp with a semaphore window of C requests, one
# /api/chat request per item (the same prompt as scripts/gsm8k.lua), the
# answer extracted ("#### N", "the answer is N", else the last number) and
# compared as a number, one JSON record per item appended to a journal.
# Debian's python3-aiohttp; run with /usr/bin/python3.
#
#   bench/baseline.py URL DATASET.jsonl OUT.jsonl [-c 64] [--stream]
#
# Prints one line: items, correct, wall s, CPU s (user+sys), peak RSS MB.
import argparse
import asyncio
import json
import re
import resource
import time

import aiohttp

INSTRUCTION = ("Solve the following math problem step by step. "
               "At the end, write the final answer on its own line in the form "
               "\"#### N\", where N is just the number.\n\n")
NUM = r"-?[$]?\d[\d,]*(?:\.\d+)?"
ANCHORS = [re.compile(r"####\s*(" + NUM + ")"),
           re.compile(r"[Tt]he (?:final )?answer is[:\s]*(" + NUM + ")")]
LAST = re.compile(NUM)


def extract(text):
    best = None
    for rx in ANCHORS:
        for m in rx.finditer(text):
            if best is None or m.start(1) > best[0]:
                best = (m.start(1), m.group(1))
    if best:
        return best[1]
    nums = LAST.findall(text)
    return nums[-1] if nums else None


def number(s):
    try:
        return float(s.replace(",", "").replace("$", ""))
    except (AttributeError, ValueError):
        return None


async def one(session, sem, url, item, index, journal, stream):
    gold = item["answer"].split("####")[-1].strip().replace(",", "")
    body = {"model": "qwen3:8b", "stream": stream,
            "messages": [{"role": "user", "content": INSTRUCTION + item["question"]}],
            "options": {"temperature": 0, "seed": 0, "num_predict": 2048, "num_ctx": 8192}}
    async with sem:
        for attempt in range(5):
            try:
                async with session.post(url + "/api/chat", json=body) as r:
                    if r.status != 200:
                        raise RuntimeError("HTTP %d" % r.status)
                    if stream:
                        parts, final = [], None
                        async for line in r.content:
                            if not line.strip():
                                continue
                            j = json.loads(line)
                            parts.append(j.get("message", {}).get("content", ""))
                            if j.get("done"):
                                final = j
                        content = "".join(parts)
                        j = final or {}
                    else:
                        j = await r.json()
                        content = j["message"]["content"]
                break
            except (aiohttp.ClientError, RuntimeError, KeyError, ValueError):
                if attempt == 4:
                    raise
                await asyncio.sleep(0.01 * 2 ** attempt)
    answer = extract(content)
    a, g = number(answer), number(gold)
    correct = a is not None and g is not None and abs(a - g) <= 1e-6 * max(1, abs(g))
    journal.write(json.dumps({"id": index, "answer": answer, "gold": gold, "correct": correct,
                              "content": content, "prompt_tokens": j.get("prompt_eval_count"),
                              "completion_tokens": j.get("eval_count")}) + "\n")
    journal.flush()
    return correct


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("dataset")
    ap.add_argument("out")
    ap.add_argument("-c", type=int, default=64)
    ap.add_argument("--stream", action="store_true")
    a = ap.parse_args()
    t0 = time.monotonic()
    sem = asyncio.Semaphore(a.c)
    correct = n = 0
    conn = aiohttp.TCPConnector(limit=0)
    with open(a.dataset) as f, open(a.out, "w") as journal:
        async with aiohttp.ClientSession(connector=conn) as session:
            # a sliding window over a lazy reader: at most 2c items in memory
            pending = set()
            for index, line in enumerate(f, 1):
                item = json.loads(line)
                pending.add(asyncio.ensure_future(one(session, sem, a.url, item, index, journal, a.stream)))
                n += 1
                if len(pending) >= 2 * a.c:
                    done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                    correct += sum(d.result() for d in done)
            if pending:
                done, _ = await asyncio.wait(pending)
                correct += sum(d.result() for d in done)
    wall = time.monotonic() - t0
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print("items %d correct %d wall %.2f s cpu %.2f s peak_rss %.1f MB"
          % (n, correct, wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024))


asyncio.run(main())
