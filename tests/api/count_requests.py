"""Counts the HTTP requests a schemathesis run sent, from its NDJSON report (each finished
scenario records its interactions, one per request). Usage: count_requests.py REPORT.ndjson"""

import json
import sys

total = 0
try:
    with open(sys.argv[1]) as report:
        for line in report:
            event = json.loads(line)
            scenario = event.get("ScenarioFinished")
            if scenario:
                total += len(scenario.get("recorder", {}).get("interactions", {}))
except OSError:
    pass
print(total)
