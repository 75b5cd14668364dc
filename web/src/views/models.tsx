/** The Models view: not built yet. */
export const ModelsView = () => (
  <section aria-labelledby="models-title">
    <h2 id="models-title">Models</h2>
    <p>Coming soon.</p>
  </section>
);
