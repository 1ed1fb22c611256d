// Renders API Gateway mapping templates with a real Velocity engine
// (velocityjs), giving it $input, $util and $context as AWS's "API Gateway
// mapping template and access logging variable reference" describes them,
// and Java's String methods (API Gateway runs Velocity on the JVM, so a
// template calls java.lang.String methods on its strings).
//
// stdin: a JSON array of jobs {template, body, headers: [[name, value]...],
// context: {requestId, requestTimeEpoch, sourceIp, errorMessage}}.
// stdout: a JSON array of {out, status, error}: the rendered text, the
// status a template set through $context.responseOverride.status, or the
// error that stopped the rendering.
import { render, Compile } from 'velocityjs';

// Velocity 1.7 (the JVM engine API Gateway runs) leaves the left-hand side
// of a #set unchanged when the right-hand side is null
// (directive.set.null.allowed=false, its default); velocityjs would store
// the null, which a later "$!v" renders as the text "null". Do as the JVM does.
const setValue = Compile.prototype.setValue;
Compile.prototype.setValue = function (ast) {
  const rhs = ast.equal[1];
  if (rhs.type !== 'math') {
    const v = this.getLiteral(rhs);
    if (v === null || v === undefined) return;
  }
  return setValue.call(this, ast);
};

// java.lang.String methods a template may call. Anything else is an error,
// as it would be on the JVM.
const javaString = {
  length: (s) => s.length,
  isEmpty: (s) => s.length === 0,
  equals: (s, o) => s === String(o),
  equalsIgnoreCase: (s, o) => o != null && s.toLowerCase() === String(o).toLowerCase(),
  contains: (s, o) => s.includes(String(o)),
  startsWith: (s, o) => s.startsWith(String(o)),
  endsWith: (s, o) => s.endsWith(String(o)),
  toLowerCase: (s) => s.toLowerCase(),
  toUpperCase: (s) => s.toUpperCase(),
  trim: (s) => s.replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, ''),
  indexOf: (s, o) => s.indexOf(String(o)),
  // String.matches: the whole string must match the regular expression.
  matches: (s, re) => new RegExp('^(?:' + re + ')$', 'su').test(s),
  substring: (s, b, e) => {
    if (b < 0 || (e ?? s.length) > s.length || b > (e ?? s.length)) throw new Error(`StringIndexOutOfBoundsException: begin ${b}, end ${e}, length ${s.length}`);
    return s.substring(b, e);
  },
  // String.replace(CharSequence, CharSequence) replaces every occurrence.
  replace: (s, a, b) => s.split(String(a)).join(String(b)),
  // String.replaceAll(regex, replacement): in the replacement, \x is x and
  // $n a group.
  replaceAll: (s, re, rep) => s.replace(new RegExp(re, 'gsu'), String(rep).replace(/\\(.)|\$(\d)/g, (m, lit, g) => (lit !== undefined ? lit.replace(/\$/g, '$$$$') : '$' + g))),
};

const customMethodHandlers = [{
  uid: 'java.lang.String',
  match: ({ context }) => typeof context === 'string',
  resolve: ({ property, context, params }) => {
    const m = javaString[property];
    if (!m) throw new Error(`java.lang.String has no method ${property}()`);
    return m(context, ...params);
  },
}];

// Java's toString of what $input.path returns: a JSON object is a
// LinkedHashMap ({a=1, b=x}), an array a List ([1, x]).
function javaValue(v) {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) {
    const items = v.map(javaValue);
    return { toString: () => '[' + items.map(String).join(', ') + ']', items };
  }
  if (typeof v === 'object') {
    const entries = Object.entries(v).map(([k, x]) => [k, javaValue(x)]);
    return { toString: () => '{' + entries.map(([k, x]) => k + '=' + String(x)).join(', ') + '}', entries };
  }
  return v;
}

// The JSONPath subset hookline's selectors use: $, .name, [index].
function jsonPath(doc, path) {
  const m = /^\$((?:\.[A-Za-z_][A-Za-z0-9_-]*|\[[0-9]+\])*)$/.exec(path);
  if (!m) throw new Error(`unsupported JSONPath ${path}`);
  let v = doc;
  for (const step of m[1].match(/\.[^.[]+|\[[0-9]+\]/g) || []) {
    if (v === null || typeof v !== 'object') return undefined;
    v = step[0] === '.' ? v[step.slice(1)] : v[Number(step.slice(1, -1))];
  }
  return v;
}

// A template that reads a body path over a body that is not JSON fails the
// request: API Gateway answers 400 "Could not parse request body into json".
function parseBody(body) {
  try { return JSON.parse(body); } catch (e) { throw new Error('Could not parse request body into json: ' + e.message); }
}

// java.net.URLEncoder.encode(s, "UTF-8"): letters, digits and .-*_ stay,
// a space becomes +, everything else is %XX of its UTF-8 bytes.
function urlEncode(s) {
  let out = '';
  for (const b of new TextEncoder().encode(String(s))) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9.\-*_]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

// Apache Commons Lang StringEscapeUtils.escapeJavaScript: ' " \ / and
// control characters backslash-escaped, everything above 0x7f as \uXXXX.
function escapeJavaScript(s) {
  if (s === null || s === undefined) return null;
  let out = '';
  for (const ch of String(s).split('')) {
    const c = ch.charCodeAt(0);
    const hex = c.toString(16).toUpperCase();
    if (c > 0x7f) out += '\\u' + hex.padStart(4, '0');
    else if (c < 32) {
      out += { 8: '\\b', 10: '\\n', 9: '\\t', 12: '\\f', 13: '\\r' }[c] ?? '\\u' + hex.padStart(4, '0');
    } else out += { "'": "\\'", '"': '\\"', '\\': '\\\\', '/': '\\/' }[ch] ?? ch;
  }
  return out;
}

function job({ template, body = '', headers = [], context = {} }) {
  const headerMap = new Map(headers);
  const header = { keySet: () => [...headerMap.keys()], get: (k) => headerMap.get(k) ?? null };
  let doc;
  const input = {
    body,
    path: (p) => {
      doc ??= parseBody(body);
      return javaValue(jsonPath(doc, p));
    },
    json: (p) => {
      doc ??= parseBody(body);
      const v = jsonPath(doc, p);
      return v === undefined ? null : JSON.stringify(v);
    },
    params: (name) => {
      if (name === undefined) return { path: {}, querystring: {}, header };
      for (const [k, v] of headerMap) if (k === name) return v;
      return '';
    },
  };
  const util = {
    escapeJavaScript,
    urlEncode,
    urlDecode: (s) => decodeURIComponent(String(s).replace(/\+/g, ' ')),
    base64Encode: (s) => Buffer.from(String(s)).toString('base64'),
    base64Decode: (s) => Buffer.from(String(s), 'base64').toString(),
    parseJson: (s) => javaValue(JSON.parse(s)),
  };
  const ctx = {
    requestId: context.requestId ?? '',
    requestTimeEpoch: context.requestTimeEpoch ?? 0,
    identity: { sourceIp: context.sourceIp ?? '' },
    // "The quoted value of $context.error.message": quotes around it,
    // nothing escaped.
    error: {
      message: context.errorMessage ?? '',
      messageString: '"' + (context.errorMessage ?? '') + '"',
    },
    responseOverride: { status: null, header: {} },
  };
  try {
    const out = render(template, { input, util, context: ctx }, {}, { escape: false, customMethodHandlers });
    return { out, status: ctx.responseOverride.status };
  } catch (e) {
    return { error: String(e && e.message || e) };
  }
}

let raw = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => { raw += d; });
process.stdin.on('end', () => {
  process.stdout.write(JSON.stringify(JSON.parse(raw).map(job)));
});
