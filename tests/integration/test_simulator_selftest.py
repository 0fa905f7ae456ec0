"""Self-tests of the simulator's own machinery (tests/simulator/core.py): they test the simulator,
not the collection - the behaviour that the load test (test_load.py) and the fault matrix
(test_fault_matrix.py) rely on: the rate limiter, faults that hit a request before or after the
appliance handled it, and what the request log records of each.

Self-tests of the simulated ONTAP cluster are in test_simulator_ontap.py.
"""

import bisect
import concurrent.futures

import requests

API = "/v1/m4/api/myvmware/external/requests/%s/status"
RATE_LIMIT = 10


def busiest_second(times):
    """The most entries of ``times`` (seconds, any order) within any one second."""
    times = sorted(times)
    return max(bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times))


def test_simulator_selftest_rate_limiter_admits_no_more_than_its_limit_in_any_second_and_answers_429(simulator):
    """A simulator self-test: the limiter's own property (the load test relies on it and asserts
    what the modules do when they meet it)."""
    cc = simulator.appliance("customer_connect")
    url = cc["url"] + API % cc["samples"]["completed_request_id"]
    headers = {"Authorization": "Bearer %s" % cc["access_token"]}

    def get(_index):
        reply = requests.get(url, headers=headers, verify=simulator.config["ca_path"], timeout=30)
        return reply.status_code, reply.headers.get("Retry-After")

    simulator.call("POST", "/appliances/customer_connect/limits", {"rate_limit": RATE_LIMIT})
    mark = simulator.mark()
    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(get, range(4 * RATE_LIMIT)))
    finally:
        simulator.call("POST", "/appliances/customer_connect/limits", {"rate_limit": None})
    statuses = sorted(set(status for status, _after in answers))
    assert statuses == [200, 429], statuses
    assert all(after == "1" for status, after in answers if status == 429)
    log = simulator.log(since=mark, appliance="customer_connect")
    admitted = [e["admitted"] for e in log if e["admitted"] is not None]
    assert len(admitted) == sum(1 for status, _after in answers if status == 200)
    assert busiest_second(admitted) <= RATE_LIMIT
    # Refused requests are logged as such and were never admitted.
    assert all(e["admitted"] is None for e in log if e["status"] == 429)
    assert len(log) == len(answers)


def test_simulator_selftest_rate_limiter_is_off_again_once_cleared(simulator):
    cc = simulator.appliance("customer_connect")
    url = cc["url"] + API % cc["samples"]["completed_request_id"]
    headers = {"Authorization": "Bearer %s" % cc["access_token"]}
    with requests.Session() as session:
        statuses = set(session.get(url, headers=headers, verify=simulator.config["ca_path"], timeout=30).status_code
                       for _index in range(3 * RATE_LIMIT))
    assert statuses == {200}


def test_simulator_selftest_log_tells_what_the_appliance_answered_from_what_the_client_got(simulator):
    """A fault before handling: the appliance never saw the request (appliance_status None); with
    after=True it handled it and the fault replaced the answer (the fault matrix counts accepted
    writes by appliance_status); each entry names the client's address and port."""
    cc = simulator.appliance("customer_connect")
    url = cc["url"] + API % cc["samples"]["completed_request_id"]
    headers = {"Authorization": "Bearer %s" % cc["access_token"]}
    mark = simulator.mark()
    simulator.fault(appliance="customer_connect", kind="status", status=502, count=1)
    simulator.fault(appliance="customer_connect", kind="status", status=502, count=1, after=True)
    try:
        with requests.Session() as session:
            statuses = [session.get(url, headers=headers, verify=simulator.config["ca_path"], timeout=30).status_code
                        for _index in range(3)]
    finally:
        simulator.clear_faults()
    assert statuses == [502, 502, 200]
    log = simulator.log(since=mark, appliance="customer_connect")
    assert [(e["status"], e["appliance_status"], e["fault"]) for e in log] == [
        (502, None, "status"), (502, 200, "status after handling"), (200, 200, None)]
    clients = set(e["client"] for e in log)
    assert len(clients) == 1 and clients.pop().startswith("127.0.0.1:")  # one keep-alive connection
