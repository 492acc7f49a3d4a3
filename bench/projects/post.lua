-- wrk: POST a 110-byte field case record as JSON (the webhook body of bench/intake.sh, intake-ab.sh and e2e.sh).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"caseId":"C-1001","firstName":"Amina","lastName":"Okello","sex":"F","dob":"03/14/1990","district":"Gulu"}'
