import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import python from 'highlight.js/lib/languages/python';
import typescript from 'highlight.js/lib/languages/typescript';
import { marked, type Token, type Tokens } from 'marked';
import { Component, type ComponentChildren } from 'preact';
import { useMemo } from 'preact/hooks';

/*
 * Markdown from a model, as Preact elements: marked's lexer makes the
 * tokens, and each one becomes an element here, so the model's text is only
 * ever text (raw HTML in it shows as written). The one innerHTML is
 * highlight.js's output, which it builds from the code escaped.
 */

hljs.registerLanguage('javascript', javascript);
hljs.registerLanguage('typescript', typescript);
hljs.registerLanguage('python', python);
hljs.registerLanguage('bash', bash);
hljs.registerLanguage('json', json);
hljs.registerAliases(['sh', 'shell', 'zsh', 'console'], { languageName: 'bash' });

/** Only web links are followed; anything else (javascript:, data:, relative) stays text. */
export const safeHref = (href: string): string | undefined => {
  try {
    const url = new URL(href.trim());
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
};

const Code = ({ text, lang }: { text: string; lang?: string }) => {
  const language = lang?.trim().split(/\s+/)[0]?.toLowerCase();
  const known = language && hljs.getLanguage(language) ? language : undefined;
  const html = useMemo(() => (known ? hljs.highlight(text, { language: known, ignoreIllegals: true }).value : undefined), [text, known]);
  return (
    <div class="chat-code">
      {language && <span class="chat-code-lang">{language}</span>}
      <pre>
        {html !== undefined ? <code class={`hljs language-${known}`} dangerouslySetInnerHTML={{ __html: html }} /> : <code class="hljs">{text}</code>}
      </pre>
    </div>
  );
};

const inline = (tokens: readonly Token[] | undefined, fallback = ''): ComponentChildren => (tokens?.length ? tokens.map((t, i) => <Inline key={i} token={t} />) : fallback);

const Inline = ({ token }: { token: Token }): ComponentChildren => {
  switch (token.type) {
    case 'strong':
      return <strong>{inline(token.tokens, token.text)}</strong>;
    case 'em':
      return <em>{inline(token.tokens, token.text)}</em>;
    case 'del':
      return <del>{inline(token.tokens, token.text)}</del>;
    case 'codespan':
      return <code>{token.text}</code>;
    case 'br':
      return <br />;
    case 'link': {
      const href = safeHref(token.href);
      const children = inline(token.tokens, token.text);
      return href ? (
        <a href={href} target="_blank" rel="noopener noreferrer nofollow">
          {children}
        </a>
      ) : (
        <span>{children}</span>
      );
    }
    case 'image': {
      // No image is loaded from a model's reply; its link is offered instead.
      const href = safeHref(token.href);
      const label = `[image: ${token.text || token.href}]`;
      return href ? (
        <a href={href} target="_blank" rel="noopener noreferrer nofollow">
          {label}
        </a>
      ) : (
        <span>{label}</span>
      );
    }
    case 'escape':
      return token.text;
    case 'html':
      return token.raw;
    case 'text':
      return 'tokens' in token && token.tokens?.length ? inline(token.tokens) : token.text;
    default:
      return 'raw' in token ? (token as { raw: string }).raw : '';
  }
};

const blocks = (tokens: readonly Token[]): ComponentChildren => tokens.map((t, i) => <BlockToken key={i} token={t} />);

const ListItem = ({ item }: { item: Tokens.ListItem }) => (
  <li>
    {item.task && <input type="checkbox" checked={item.checked} disabled aria-label={item.checked ? 'done' : 'not done'} />}
    {item.tokens.map((t, i) => (t.type === 'text' && !item.loose ? <Inline key={i} token={t} /> : <BlockToken key={i} token={t} />))}
  </li>
);

const Block = ({ token }: { token: Token }): ComponentChildren => {
  switch (token.type) {
    case 'space':
    case 'def':
      return null;
    case 'paragraph':
      return <p>{inline(token.tokens, token.text)}</p>;
    case 'heading': {
      const H = `h${Math.min(6, Math.max(3, token.depth + 2))}` as 'h3';
      return <H>{inline(token.tokens, token.text)}</H>;
    }
    case 'code':
      return <Code text={token.text} lang={token.lang} />;
    case 'blockquote':
      return <blockquote>{blocks(token.tokens ?? [])}</blockquote>;
    case 'hr':
      return <hr />;
    case 'list': {
      const items = (token as Tokens.List).items.map((item, i) => <ListItem key={i} item={item} />);
      return token.ordered ? <ol start={typeof token.start === 'number' ? token.start : undefined}>{items}</ol> : <ul>{items}</ul>;
    }
    case 'table': {
      const table = token as Tokens.Table;
      return (
        <div class="chat-table">
          <table>
            <thead>
              <tr>
                {table.header.map((cell, i) => (
                  <th key={i}>{inline(cell.tokens, cell.text)}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {table.rows.map((row, r) => (
                <tr key={r}>
                  {row.map((cell, i) => (
                    <td key={i}>{inline(cell.tokens, cell.text)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      );
    }
    case 'html':
      // Raw HTML in a reply is shown as the text it is.
      return <p class="chat-raw">{token.raw}</p>;
    case 'text':
      return <p>{'tokens' in token && token.tokens?.length ? inline(token.tokens) : token.text}</p>;
    default:
      return 'raw' in token ? <p>{(token as { raw: string }).raw}</p> : null;
  }
};

/** One top-level block; redrawn only when its source changed, so a long streamed reply redraws just its last block. */
class BlockToken extends Component<{ token: Token }> {
  override shouldComponentUpdate(next: { token: Token }): boolean {
    return next.token.raw !== this.props.token.raw || next.token.type !== this.props.token.type;
  }
  override render() {
    return <Block token={this.props.token} />;
  }
}

/** `text` as Markdown. */
export const Markdown = ({ text }: { text: string }) => {
  const tokens = useMemo(() => {
    try {
      return marked.lexer(text, { gfm: true });
    } catch {
      return undefined;
    }
  }, [text]);
  return <div class="chat-md">{tokens ? blocks(tokens) : <p>{text}</p>}</div>;
};
