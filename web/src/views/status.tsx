/** The Status view: not built yet. */
export const StatusView = () => (
  <section aria-labelledby="status-title">
    <h2 id="status-title">Status</h2>
    <p>Coming soon.</p>
  </section>
);
