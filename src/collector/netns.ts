/**
 * Where a network namespace given to --netns lives.
 *
 * @module
 */

/** The path of namespace `name`: as given when it is a path, else /run/netns/NAME (ip-netns). */
export function netnsPath(name: string): string {
  return name.includes("/") ? name : `/run/netns/${name}`;
}
