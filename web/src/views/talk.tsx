/** The Talk view: not built yet. */
export const TalkView = () => (
  <section aria-labelledby="talk-title">
    <h2 id="talk-title">Talk</h2>
    <p>Coming soon.</p>
  </section>
);
