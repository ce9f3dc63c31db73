import json, uuid

def js(s): return s.strip('\n').split('\n')

def req(name, method, url, *, headers=None, body=None, tests='', pre='', auth='bearer', formdata=None, raw_headers=None):
    h = []
    if auth == 'bearer': h.append({'key': 'Authorization', 'value': 'Bearer {{token}}'})
    elif auth == 'bearerB': h.append({'key': 'Authorization', 'value': 'Bearer {{tokenB}}'})
    elif auth == 'operator': h.append({'key': 'Authorization', 'value': 'Bearer {{operatorToken}}'})
    for k, v in (headers or {}).items(): h.append({'key': k, 'value': v})
    r = {'method': method, 'header': h, 'url': url}
    if body is not None:
        r['body'] = {'mode': 'raw', 'raw': json.dumps(body, indent=2) if not isinstance(body, str) else body, 'options': {'raw': {'language': 'json'}}}
        if not any(x['key'].lower() == 'content-type' for x in h): h.append({'key': 'Content-Type', 'value': 'application/json'})
    if formdata is not None:
        r['body'] = {'mode': 'formdata', 'formdata': [{'key': k, 'value': v, 'type': 'text'} for k, v in formdata.items()]}
    ev = []
    if pre: ev.append({'listen': 'prerequest', 'script': {'type': 'text/javascript', 'exec': js(pre)}})
    if tests: ev.append({'listen': 'test', 'script': {'type': 'text/javascript', 'exec': js(tests)}})
    return {'name': name, 'event': ev, 'request': r}

def status(code, extra=''):
    return f"pm.test('answers {code}', () => pm.response.to.have.status({code}));\n" + extra

V = 'pm.collectionVariables'

def wait_command(name, var, expect_status, expect_reason=None, history=None, token='token'):
    """Long-polls GET /api/v1/commands/{id}?wait=&after= until terminal; asserts the terminal status (fails if it never comes)."""
    checks = f"pm.test('the command ends {expect_status}', () => pm.expect(c.status).to.eql('{expect_status}'));\n"
    if expect_reason: checks += f"pm.test('with reason {expect_reason}', () => pm.expect(c.reason).to.eql('{expect_reason}'));\n"
    if history: checks += f"pm.test('its history is {' → '.join(history)}', () => pm.expect(c.history.map((h) => h.status)).to.eql({json.dumps(history)}));\n"
    tests = f"""
pm.test('answers 200', () => pm.response.to.have.status(200));
const c = pm.response.json();
const terminal = ['SUCCEEDED', 'REJECTED', 'COMPENSATED'];
const polls = Number({V}.get('polls') || 0);
if (!terminal.includes(c.status) && polls < 15) {{
  {V}.set('polls', polls + 1);
  {V}.set('after', c.version);
  postman.setNextRequest(pm.info.requestName);
}} else {{
  {V}.set('polls', 0);
  {V}.set('after', 0);
{checks}}}
"""
    h = {'Authorization': 'Bearer {{' + token + '}}'} if token else {}
    return req(name, 'GET', '{{baseUrl}}/api/v1/commands/{{' + var + '}}?wait=5&after={{after}}', auth=None, headers=h, tests=tests)

def register_login(prefix, tokenVar, userVar):
    return [
        req(f'{prefix}: register', 'POST', '{{baseUrl}}/api/v1/auth/register', auth=None,
            pre=f"{V}.set('{userVar}', 'nm' + Date.now().toString(36) + Math.floor(Math.random() * 1e6).toString(36));",
            body={'username': '{{' + userVar + '}}', 'email': '{{' + userVar + '}}@newman.devicesaga.local', 'password': 'newman-password-0000', 'name': prefix},
            tests=status(201, f"pm.test('answers the username and the role user', () => {{ pm.expect(pm.response.json().username).to.eql({V}.get('{userVar}')); pm.expect(pm.response.json().role).to.eql('user'); }});")),
        req(f'{prefix}: login with the username', 'POST', '{{baseUrl}}/api/v1/auth/login', auth=None,
            body={'login': '{{' + userVar + '}}', 'password': 'newman-password-0000'},
            tests=status(200, f"{V}.set('{tokenVar}', pm.response.json().token);\n{V}.set('{userVar}Id', pm.response.json().user.id);")),
    ]

def set_command(name, idVar, value, key='{{$guid}}', token='token', device='deviceId', sensor='sensorId', ttl=None, code=202, extra='', fresh=True):
    body = {'deviceId': '{{' + device + '}}', 'sensorId': '{{' + sensor + '}}', 'action': 'set', 'value': value}
    if ttl: body['ttlSeconds'] = ttl
    return req(name, 'POST', '{{baseUrl}}/api/v1/commands', auth=None, headers={'Authorization': 'Bearer {{' + token + '}}', 'Idempotency-Key': key}, body=body,
               tests=status(code, (f"{V}.set('{idVar}', pm.response.json().id);\n" if code == 202 else '') + (f"pm.test('answers the command PENDING', () => pm.expect(pm.response.json().status).to.eql('PENDING'));\n" if code == 202 and fresh else '') + extra))

def sensor_value(name, expected, token='token', sensor='sensorId'):
    return req(name, 'GET', '{{baseUrl}}/api/v1/sensors/{{' + sensor + '}}', auth=None, headers={'Authorization': 'Bearer {{' + token + '}}'},
               tests=status(200, f"pm.test('the stored value is {expected}', () => pm.expect(pm.response.json().value).to.eql({expected}));"))

create_device = lambda name, token='token', dev='deviceId', sen='sensorId': req(name, 'POST', '{{baseUrl}}/api/v1/devices', auth=None, headers={'Authorization': 'Bearer {{' + token + '}}'},
    body={'name': 'newman thermostat', 'sensors': [{'parameter': 'temperature'}]},
    tests=status(201, f"""const d = pm.response.json();
pm.test('answers the device with its temperature sensor and its MQTT secret, shown once', () => {{
  pm.expect(d.sensors[0].parameter).to.eql('temperature');
  pm.expect(d.mqtt.username).to.eql(d.id);
  pm.expect(d.mqtt.password).to.be.a('string');
}});
{V}.set('{dev}', d.id);
{V}.set('{sen}', d.sensors[0].id);"""))

# ---------------- folders ----------------
accounts = [
    req('Without credentials the API answers 401', 'GET', '{{baseUrl}}/api/v1/devices', auth=None, tests=status(401)),
    req('An identity header from outside is no credential (401)', 'GET', '{{baseUrl}}/api/v1/devices', auth=None, headers={'X-DS-Identity': 'v1.eyJzdWIiOiJ4In0.AAAA'}, tests=status(401)),
] + register_login('Alice', 'token', 'alice') + register_login('Bob', 'tokenB', 'bob') + [
    req('Login with the email instead of the username', 'POST', '{{baseUrl}}/api/v1/auth/login', auth=None,
        body={'login': '{{alice}}@newman.devicesaga.local', 'password': 'newman-password-0000'}, tests=status(200)),
    req('A taken username is 409 USERNAME_TAKEN', 'POST', '{{baseUrl}}/api/v1/auth/register', auth=None,
        body={'username': '{{alice}}', 'email': 'other-{{$guid}}@newman.devicesaga.local', 'password': 'newman-password-0000'},
        tests=status(409, "pm.test('code USERNAME_TAKEN', () => pm.expect(pm.response.json().error.code).to.eql('USERNAME_TAKEN'));")),
    req('A wrong password is 401', 'POST', '{{baseUrl}}/api/v1/auth/login', auth=None, body={'login': '{{alice}}', 'password': 'wrong-password-0000'}, tests=status(401)),
    req('GET /me shows the username, the email and the role', 'GET', '{{baseUrl}}/api/v1/me',
        tests=status(200, f"const me = pm.response.json();\npm.test('username, email, role', () => {{ pm.expect(me.username).to.eql({V}.get('alice')); pm.expect(me.email).to.eql({V}.get('alice') + '@newman.devicesaga.local'); pm.expect(me.role).to.eql('user'); }});")),
]

devices = [
    create_device('Alice creates a device'),
    req('Alice reads her device', 'GET', '{{baseUrl}}/api/v1/devices/{{deviceId}}', tests=status(200, f"pm.test('it is hers', () => pm.expect(pm.response.json().id).to.eql({V}.get('deviceId')));")),
    req("Alice's sensor has a numeric value within [min, max]", 'GET', '{{baseUrl}}/api/v1/sensors/{{sensorId}}',
        tests=status(200, "const s = pm.response.json();\npm.test('value is a number within [min, max]', () => { pm.expect(s.value).to.be.a('number'); pm.expect(s.value).to.be.within(s.min, s.max); });")),
    req("Bob cannot see Alice's device (404)", 'GET', '{{baseUrl}}/api/v1/devices/{{deviceId}}', auth='bearerB', tests=status(404)),
    req("Bob cannot see Alice's sensor (404)", 'GET', '{{baseUrl}}/api/v1/sensors/{{sensorId}}', auth='bearerB', tests=status(404)),
    req("Bob's device list does not contain Alice's device", 'GET', '{{baseUrl}}/api/v1/devices', auth='bearerB',
        tests=status(200, f"pm.test('not listed', () => pm.expect(pm.response.json().items.map((d) => d.id)).to.not.include({V}.get('deviceId')));")),
    set_command("Bob cannot command Alice's device (404)", 'unused', 21, token='tokenB', code=404),
    req('A plain user cannot add a parameter (403: operators only)', 'POST', '{{baseUrl}}/api/v1/parameters',
        body={'name': 'p_{{$timestamp}}', 'unit': 'hPa', 'min': 900, 'max': 1100}, tests=status(403)),
    req('The operator logs in', 'POST', '{{baseUrl}}/api/v1/auth/login', auth=None, body={'login': '{{operatorLogin}}', 'password': '{{operatorPassword}}'},
        tests=status(200, f"{V}.set('operatorToken', pm.response.json().token);\npm.test('with the operator role', () => pm.expect(pm.response.json().user.role).to.eql('operator'));")),
    req('An operator adds a parameter (201)', 'POST', '{{baseUrl}}/api/v1/parameters', auth='operator',
        pre=f"{V}.set('paramName', 'p_' + Date.now().toString(36));",
        body={'name': '{{paramName}}', 'unit': 'hPa', 'min': 900, 'max': 1100}, tests=status(201)),
]

saga = [
    set_command('Set 34.4 (success path)', 'commandId', 34.4, key='{{successKey}}', extra=f"pm.test('answers a Location', () => pm.expect(pm.response.headers.get('Location')).to.eql('/api/v1/commands/' + {V}.get('commandId')));"),
    wait_command('Wait: the set SUCCEEDS', 'commandId', 'SUCCEEDED', history=['PENDING', 'APPROVED', 'SUCCEEDED']),
    sensor_value('The stored value is 34.4', 34.4),
    set_command('The same Idempotency-Key again answers the same command (idempotent retry)', 'retryId', 34.4, key='{{successKey}}', fresh=False,
                extra=f"pm.test('same command id', () => pm.expect(pm.response.json().id).to.eql({V}.get('commandId')));"),
    set_command('The same key with another body is 422', 'unused', 35, key='{{successKey}}', code=422),
    set_command('Set 150, outside [0, 100] (rejection path)', 'rejectedId', 150),
    wait_command('Wait: the set is REJECTED OUT_OF_RANGE', 'rejectedId', 'REJECTED', 'OUT_OF_RANGE', history=['PENDING', 'REJECTED']),
    sensor_value('After the rejection the value is still 34.4', 34.4),
    set_command('Set 74.4, which the device refuses (compensation path)', 'refusedId', 74.4),
    wait_command('Wait: the set is COMPENSATED after the refusal', 'refusedId', 'COMPENSATED', 'REFUSED', history=['PENDING', 'APPROVED', 'FAILED', 'COMPENSATED']),
    sensor_value('After the compensation the value is back at 34.4', 34.4),
    req("The command list has Alice's commands of this device", 'GET', '{{baseUrl}}/api/v1/commands?deviceId={{deviceId}}&limit=50',
        tests=status(200, f"const ids = pm.response.json().items.map((c) => c.id);\npm.test('all three', () => pm.expect(ids).to.include.members([{V}.get('commandId'), {V}.get('rejectedId'), {V}.get('refusedId')]));")),
    req("Bob cannot read Alice's command (404)", 'GET', '{{baseUrl}}/api/v1/commands/{{commandId}}', auth='bearerB', tests=status(404)),
]
saga[0]['event'].insert(0, {'listen': 'prerequest', 'script': {'type': 'text/javascript', 'exec': [f"{V}.set('successKey', pm.variables.replaceIn('{{{{$guid}}}}'));"]}})

expiry = register_login('Carol', 'tokenC', 'carol') + [
    create_device('Carol creates a device that never comes online', token='tokenC', dev='offlineDeviceId', sen='offlineSensorId'),
    set_command('Set 25 with a 2 s TTL on the offline device', 'expiringId', 25, token='tokenC', device='offlineDeviceId', sensor='offlineSensorId', ttl=2),
    wait_command('Wait: the command expires and is COMPENSATED', 'expiringId', 'COMPENSATED', 'EXPIRED', history=['PENDING', 'APPROVED', 'FAILED', 'COMPENSATED'], token='tokenC'),
    sensor_value('After the expiry the value is restored', 20, token='tokenC', sensor='offlineSensorId'),
]

L = {'Content-Type': 'application/json'}
def legacy(name, method, url, tests, body=None, formdata=None, headers=None, pre=''):
    h = dict(L); h.update(headers or {})
    r = req(name, method, url, auth=None, headers=h, tests=tests, formdata=formdata, pre=pre)
    if body is not None:
        r['request']['body'] = {'mode': 'raw', 'raw': json.dumps(body, indent=2)}
    return r

def legacy_wait(name, var, expect_status):
    w = wait_command(name, var, expect_status, token=None)
    w['request']['header'] = [{'key': 'Content-Type', 'value': 'application/json'}]  # the session cookie authenticates
    return w

def notifications_until(name, event_types, value):
    tests = f"""
pm.test('answers 200', () => pm.response.to.have.status(200));
const items = pm.response.json();
const cmd = {V}.get('legacyCommandId');
const mine = items.filter((n) => {{ try {{ return JSON.parse(n.body).commandId === cmd; }} catch (e) {{ return false; }} }});
const wanted = {json.dumps(event_types)};
const found = wanted.every((t) => mine.some((n) => n.eventType === t));
const polls = Number({V}.get('npolls') || 0);
if (!found && polls < 20) {{
  {V}.set('npolls', polls + 1);
  postman.setNextRequest(pm.info.requestName);
}} else {{
  {V}.set('npolls', 0);
  pm.test('notifications ' + wanted.join(', ') + ' arrived', () => pm.expect(mine.map((n) => n.eventType)).to.include.members(wanted));
  for (const n of mine) {{
    pm.test(n.eventType + ': {{id, username, eventType, title, description, dateTime, body}} with the value asked for', () => {{
      pm.expect(n).to.have.all.keys('id', 'username', 'eventType', 'title', 'description', 'dateTime', 'body');
      pm.expect(n.username).to.eql({V}.get('legacyUser'));
      const body = JSON.parse(n.body);
      pm.expect(body.deviceId).to.eql({V}.get('legacyDeviceId'));
      pm.expect(body.sensorId).to.eql({V}.get('legacySensorId'));
      pm.expect(body.value).to.eql({value});
    }});
  }}
}}
"""
    pre = f"if (Number({V}.get('npolls') || 0) > 0) setTimeout(() => {{}}, 500);"
    return legacy(name, 'GET', '{{baseUrl}}/notifications', tests, pre=pre)

legacy_flow = [
    legacy('Legacy: GET /logout first (no session left from earlier requests)', 'GET', '{{baseUrl}}/logout', status(200)),
    legacy('Legacy: POST /register (JSON) → 201 with id, no session cookie', 'POST', '{{baseUrl}}/register',
           status(201, "pm.test('answers an id', () => pm.expect(pm.response.json().id).to.be.a('string'));\npm.test('sets no session cookie', () => pm.expect(pm.response.headers.get('Set-Cookie') || '').to.not.include('ds_session'));"),
           body={'username': '{{legacyUser}}', 'email': '{{legacyUser}}@lab.devicesaga.local', 'password': 'test', 'firstName': 'Legacy', 'lastName': 'Tester'},
           pre=f"{V}.set('legacyUser', 'lg' + Date.now().toString(36));\n{V}.set('legacyDeviceId', pm.variables.replaceIn('{{{{$guid}}}}'));\n{V}.set('legacySensorId', pm.variables.replaceIn('{{{{$guid}}}}'));"),
    legacy('Legacy: GET /hello before login → 401', 'GET', '{{baseUrl}}/hello', status(401)),
    legacy('Legacy: POST /login (form data) → 200 and the session cookie', 'POST', '{{baseUrl}}/login',
           status(200, "pm.test('sets the session cookie', () => pm.expect(pm.response.headers.get('Set-Cookie') || '').to.include('ds_session='));"),
           formdata={'username': '{{legacyUser}}', 'password': 'test'}),
    legacy('Legacy: GET /hello after login → 200', 'GET', '{{baseUrl}}/hello', status(200)),
    legacy('Legacy: POST /management/create_device with client-chosen ids → 200', 'POST',
           '{{baseUrl}}/management/create_device?sensorId={{legacySensorId}}&deviceId={{legacyDeviceId}}&parameterName=temperature',
           status(200, f"pm.test('the device has the chosen id', () => pm.expect(pm.response.json().id).to.eql({V}.get('legacyDeviceId')));")),
    legacy('Legacy: GET /management/sensors/{id} → {id, deviceId, parameterName, value}', 'GET', '{{baseUrl}}/management/sensors/{{legacySensorId}}',
           status(200, f"const s = pm.response.json();\npm.test('legacy sensor shape, value a number', () => {{ pm.expect(s).to.have.all.keys('id', 'deviceId', 'parameterName', 'value'); pm.expect(s.id).to.eql({V}.get('legacySensorId')); pm.expect(s.deviceId).to.eql({V}.get('legacyDeviceId')); pm.expect(s.parameterName).to.eql('temperature'); pm.expect(s.value).to.be.a('number'); }});")),
    legacy('Legacy: POST /command/set_value 34.4 (query, X-Request-Id) → 202', 'POST',
           '{{baseUrl}}/command/set_value?sensorId={{legacySensorId}}&deviceId={{legacyDeviceId}}&value=34.4',
           status(202, f"{V}.set('legacyCommandId', pm.response.json().id);"), headers={'X-Request-Id': '{{$guid}}'}),
    legacy_wait('Legacy: wait for the set to SUCCEED', 'legacyCommandId', 'SUCCEEDED'),
    legacy('Legacy: the sensor shows 34.4', 'GET', '{{baseUrl}}/management/sensors/{{legacySensorId}}',
           status(200, "pm.test('value 34.4', () => pm.expect(pm.response.json().value).to.eql(34.4));")),
    legacy('Legacy: POST /command/set_value 74.4 (JSON body) → 202', 'POST', '{{baseUrl}}/command/set_value',
           status(202, f"{V}.set('legacyCommandId', pm.response.json().id);"),
           body={'sensorId': '{{legacySensorId}}', 'deviceId': '{{legacyDeviceId}}', 'value': 74.4}, headers={'X-Request-Id': '{{$guid}}'}),
    legacy_wait('Legacy: wait for the refused set to be COMPENSATED', 'legacyCommandId', 'COMPENSATED'),
    legacy('Legacy: the sensor is back at 34.4', 'GET', '{{baseUrl}}/management/sensors/{{legacySensorId}}',
           status(200, "pm.test('value 34.4', () => pm.expect(pm.response.json().value).to.eql(34.4));")),
    legacy('Legacy: POST /command/add_value 1 → 202', 'POST', '{{baseUrl}}/command/add_value?sensorId={{legacySensorId}}&deviceId={{legacyDeviceId}}&value=1',
           status(202, f"{V}.set('legacyCommandId', pm.response.json().id);"), headers={'X-Request-Id': '{{$guid}}'}),
    legacy_wait('Legacy: wait for the add to SUCCEED', 'legacyCommandId', 'SUCCEEDED'),
    legacy('Legacy: the sensor shows 35.4', 'GET', '{{baseUrl}}/management/sensors/{{legacySensorId}}',
           status(200, "pm.test('value 35.4', () => pm.expect(pm.response.json().value).to.eql(35.4));")),
    legacy('Legacy: GET /logout → 200', 'GET', '{{baseUrl}}/logout', status(200)),
    legacy('Legacy: GET /hello after logout → 401', 'GET', '{{baseUrl}}/hello', status(401)),
]

# The notifications part of the legacy flow: its own user, device and commands (needs notification-service).
legacy_notifications = legacy_flow[:9] + [
    notifications_until('Legacy: GET /notifications has adapter.value_set_sent for the set', ['adapter.value_set_sent'], 34.4),
    legacy_flow[10],
    legacy_flow[11],
    notifications_until('Legacy: GET /notifications has adapter.value_set_error and dm.value_set_error with the value 74.4', ['adapter.value_set_error', 'dm.value_set_error'], 74.4),
    legacy('Legacy: GET /notifications/clear → 200', 'GET', '{{baseUrl}}/notifications/clear', status(200)),
    legacy('Legacy: GET /notifications is empty after clearing', 'GET', '{{baseUrl}}/notifications',
           status(200, "pm.test('empty', () => pm.expect(pm.response.json()).to.eql([]));")),
    legacy('Legacy: GET /logout → 200 ', 'GET', '{{baseUrl}}/logout', status(200)),
]
legacy_notifications = json.loads(json.dumps(legacy_notifications))
for i, r in enumerate(legacy_notifications):
    r['name'] = r['name'].replace('Legacy:', 'Legacy notifications:')

collection = {
    'info': {'_postman_id': str(uuid.uuid5(uuid.NAMESPACE_URL, 'devicesaga-newman')), 'name': 'devicesaga',
             'description': 'The v1 API and every saga path (success, rejection, compensation, expiry, idempotent retry, object-level authorization) plus the legacy-compatible flow. Run: see postman/README.md.',
             'schema': 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json'},
    'item': [
        {'name': 'Expiry (no device online)', 'description': 'Needs no device simulator: run before the farm starts (scripts/test-all.ts does).', 'item': expiry},
        {'name': 'Legacy-compatible flow', 'item': legacy_flow},
        {'name': 'Legacy notifications', 'description': 'GET /notifications and /notifications/clear over notification-service.', 'item': legacy_notifications},
        {'name': 'Accounts', 'item': accounts},
        {'name': 'Devices and object-level authorization', 'item': devices},
        {'name': 'Command saga', 'item': saga},
    ],
    'variable': [{'key': k, 'value': v} for k, v in [('polls', '0'), ('npolls', '0'), ('after', '0')]],
}
json.dump(collection, open('devicesaga.postman_collection.json', 'w'), indent=2)
env = {'id': str(uuid.uuid5(uuid.NAMESPACE_URL, 'devicesaga-newman-env')), 'name': 'devicesaga (npm start)', 'values': [
    {'key': 'baseUrl', 'value': 'http://127.0.0.1:8080', 'enabled': True},
    {'key': 'operatorLogin', 'value': 'operator', 'enabled': True},
    {'key': 'operatorPassword', 'value': 'operator-password-2026', 'enabled': True},
]}
json.dump(env, open('devicesaga.postman_environment.json', 'w'), indent=2)
print(sum(len(f['item']) for f in collection['item']), 'requests')
